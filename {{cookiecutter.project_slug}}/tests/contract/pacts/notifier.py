"""The notifier's message pact with this service: what it needs of an ``order.created`` event (its
body, and the metadata in ``METADATA``). ``consumers/test_notifier.py`` feeds its example to the
notifier's handler; ``test_events.py`` verifies the service publishes such messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pact import Pact, match

from tests.contract.consumers.notifier import EVENT_TYPE
from tests.support.contract import SERVICE, write_pact

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["notifier_pact_file"]

CONSUMER = "notifier"
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
{%- if cookiecutter.observability == "otel" %}
# W3C trace context (version 00): a consumer's handling of the event may join the order's trace.
TRACEPARENT = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
{%- endif %}
# What the notifier relies on besides the body: AMQP properties, and the message's headers beside
# them (``test_events.py``).
METADATA: dict[str, Any] = {
    "content_type": "application/json",
    "message_id": match.regex("9b2f6a4e-0c4d-4c8e-9a55-0d6f2b1c3e7a", regex=UUID),
    "type": EVENT_TYPE,
    {%- if cookiecutter.observability == "otel" %}
    "traceparent": match.regex(EXAMPLE_TRACEPARENT, regex=TRACEPARENT),{% endif %}
}


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
        .with_metadata(METADATA)
    )
    return pact


@pytest.fixture(scope="session")
def notifier_pact_file(pact_dir: Path) -> Path:
    return write_pact(notifier_pact(), pact_dir)
