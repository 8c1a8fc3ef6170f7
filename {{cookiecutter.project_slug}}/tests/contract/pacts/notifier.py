"""The notifier's message pact with this service: what it needs of an ``order.created`` event (its
body, and the metadata content_type, message_id and type). ``consumers/test_notifier.py`` feeds
its example to the notifier's handler; ``test_events.py`` verifies the service publishes such
messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from pact import Pact, match

from tests.contract.consumers.notifier import EVENT_TYPE
from tests.support.contract import SERVICE, write_pact

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["notifier_pact_file"]

CONSUMER = "notifier"
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


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


@pytest.fixture(scope="session")
def notifier_pact_file(pact_dir: Path) -> Path:
    return write_pact(notifier_pact(), pact_dir)
