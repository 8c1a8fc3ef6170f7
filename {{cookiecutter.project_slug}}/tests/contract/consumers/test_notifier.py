"""The notifier's message pact with this service: what it needs of an ``order.created`` event (its
body, and the metadata content_type, message_id and type), checked by feeding Pact's example
message to the notifier's own handler. ``tests/contract/test_events.py`` verifies the service
publishes such messages.
"""

from __future__ import annotations

import pytest
from pact import Pact, match

from ..support import PACTS, SERVICE
from .notifier import EVENT_TYPE, Notice, Notifier

CONSUMER = "notifier"
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

pytestmark = pytest.mark.writes_pact


def notifier_pact() -> Pact:
    pact = Pact(CONSUMER, SERVICE).with_specification("V4")
    (
        pact.upon_receiving(f"an {EVENT_TYPE} event", "Async")
        .given("an order was created")
        .with_body(
            {
                "id": match.int(42),
                "sku": match.str("SKU-1"),
                "total": match.regex("25.00", regex=DECIMAL),
                "currency": match.regex("EUR", regex=r"^[A-Z]{3}$"),
                "status": "created",
            },
            content_type="application/json",
        )
        .with_metadata(
            {
                "content_type": "application/json",
                "message_id": match.regex("9b2f6a4e-0c4d-4c8e-9a55-0d6f2b1c3e7a", regex=UUID),
                "type": EVENT_TYPE,
            }
        )
    )
    return pact


def test_the_notifier_handles_the_event_it_expects_once() -> None:
    pact = notifier_pact()
    notifier = Notifier()

    def deliver_twice(body: str | bytes | None, metadata: dict[str, object]) -> None:
        notifier.on_message(body, metadata)
        notifier.on_message(body, metadata)  # at least once: a redelivery

    pact.verify(deliver_twice, "Async")

    assert notifier.sent == [Notice(42, "SKU-1", "25.00", "EUR")]
    pact.write_file(PACTS, overwrite=True)
