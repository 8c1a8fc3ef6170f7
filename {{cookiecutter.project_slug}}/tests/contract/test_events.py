"""The service publishes what the notifier's pact asks of ``order.created``: Pact's verifier asks for
the message, which is made as the relay makes it (``events.message_of``, the same function the
publisher sends) from the outbox entry a real ``POST /orders`` recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pact import Verifier
from pact.types import Message

from {{ cookiecutter.package_name }} import db, wiring
from {{ cookiecutter.package_name }}.dependencies.events import OutboxMessage, message_of
from tests.support.api import order_body
from tests.support.contract import (
    LOOPBACK,
    SERVICE,
    CallbackErrors,
    contract_app,
    interactions,
    verify,
)


def published_after_a_create(
    directory: Path, config: dict[str, Any], caller_headers: dict[str, str]
) -> Message:
    """The message the service publishes for a new order, as Pact's verifier takes it."""
    app = contract_app(directory, config, caller_headers)
    try:
        response = app.test_client().post("/orders", json=order_body())
        assert response.status_code == 201, response.get_data(as_text=True)
        with app.app_context():
            [entry] = db.session().scalars(sa.select(OutboxMessage)).all()
            outgoing = message_of(entry)
    finally:
        wiring.close(app)
    properties = dict(outgoing.properties)
    # The message's headers beside its properties, as a consumer reads both off the queue: Pact
    # matches metadata key by key, never inside a nested object.
    headers = properties.pop("headers", {})
    return Message(
        contents=outgoing.body,
        metadata={**properties, **headers},
        content_type=outgoing.properties["content_type"],
    )


def test_order_created_is_published_as_the_notifier_expects(
    tmp_path: Path,
    service_config: dict[str, Any],
    caller_headers: dict[str, str],
    notifier_pact_file: Path,
) -> None:
    pact = notifier_pact_file
    [interaction] = interactions(pact)
    description = interaction["description"]
    errors = CallbackErrors()

    def produce() -> Message:
        return published_after_a_create(tmp_path, service_config, caller_headers)

    verifier = (
        Verifier(SERVICE, host=LOOPBACK)
        .message_handler({description: errors.producer(description, produce)})
        .add_source(pact)
    )
    verify(verifier, errors)


def test_a_message_the_notifier_cannot_use_fails_verification(
    tmp_path: Path,
    service_config: dict[str, Any],
    caller_headers: dict[str, str],
    notifier_pact_file: Path,
) -> None:
    pact = notifier_pact_file
    [interaction] = interactions(pact)

    def produce_untyped() -> Message:
        message = published_after_a_create(tmp_path, service_config, caller_headers)
        return Message(
            contents=message["contents"],
            metadata={**(message["metadata"] or {}), "type": "order.placed"},
            content_type=message["content_type"],
        )

    verifier = (
        Verifier(SERVICE, host=LOOPBACK)
        .message_handler({interaction["description"]: produce_untyped})
        .add_source(pact)
    )
    with pytest.raises(RuntimeError):
        verifier.verify()
