"""A notifier that tells customers about new orders: the example consumer of ``order.created``.

It reads the message as it comes off the queue (the body, and the AMQP properties as metadata) and
needs only what it names below; it deduplicates by ``message_id``, since delivery is at least once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

EVENT_TYPE = "order.created"


@dataclass(frozen=True)
class Notice:
    order_id: int
    sku: str
    total: str
    currency: str


@dataclass
class Notifier:
    seen: set[str] = field(default_factory=set)
    sent: list[Notice] = field(default_factory=list)

    def on_message(self, body: str | bytes | None, metadata: dict[str, Any]) -> None:
        if metadata.get("content_type") != "application/json":
            raise ValueError(f"not JSON: {metadata.get('content_type')!r}")
        if metadata.get("type") != EVENT_TYPE:
            raise ValueError(f"not an {EVENT_TYPE} event: {metadata.get('type')!r}")
        message_id = str(metadata["message_id"])
        if message_id in self.seen:
            return
        order = json.loads(body or b"")
        self.sent.append(Notice(order["id"], order["sku"], order["total"], order["currency"]))
        self.seen.add(message_id)
