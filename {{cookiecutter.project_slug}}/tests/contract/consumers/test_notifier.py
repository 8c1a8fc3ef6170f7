"""The notifier's handler takes the ``order.created`` event its pact (``pacts/notifier.py``)
describes, once, redelivered or not. ``tests/contract/test_events.py`` verifies the service
publishes such messages.
"""

from __future__ import annotations

from tests.contract.consumers.notifier import Notice, Notifier
from tests.contract.pacts.notifier import notifier_pact


def test_the_notifier_handles_the_event_it_expects_once() -> None:
    pact = notifier_pact()
    notifier = Notifier()

    def deliver_twice(body: str | bytes | None, metadata: dict[str, object]) -> None:
        notifier.on_message(body, metadata)
        notifier.on_message(body, metadata)  # at least once: a redelivery

    pact.verify(deliver_twice, "Async")

    assert notifier.sent == [Notice(42, "SKU-1", "25.00", "EUR")]
