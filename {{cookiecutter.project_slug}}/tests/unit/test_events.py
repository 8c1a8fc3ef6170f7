"""order.created goes through a transactional outbox to the broker (kombu's in-process
``memory://`` transport here); a broker outage loses no order and no event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import Flask
from kombu.exceptions import OperationalError

from {{ cookiecutter.package_name }}.dependencies import events
from {{ cookiecutter.package_name }}.dependencies.events import OutboxMessage

from ..orders_api import Orders
from .conftest import MakeApp, assert_degraded, count_rows, engine_of
from .fakes.events import Broker


def outbox(app: Flask) -> list[dict[str, Any]]:
    with engine_of(app).connect() as connection:
        rows = connection.execute(sa.select(OutboxMessage.__table__).order_by("id"))
        return [dict(row._mapping) for row in rows]


@contextmanager
def broker_down() -> Iterator[None]:
    refused = OperationalError("[Errno 111] Connection refused")
    with mock.patch.object(events, "Connection", side_effect=refused):
        yield


def test_create_writes_order_created_to_the_outbox(app: Flask, orders: Orders) -> None:
    order = orders.create().get_json()

    [event] = outbox(app)
    assert event["routing_key"] == "order.created"
    assert json.loads(event["body"]) == order


def test_relay_publishes_the_event_as_json_and_marks_it_published(
    app: Flask, orders: Orders, broker: Broker
) -> None:
    order = orders.create().get_json()

    [message] = broker.messages()
    [event] = outbox(app)
    assert json.loads(message.body) == order
    assert message.content_type == "application/json"
    assert message.delivery_info["routing_key"] == "order.created"
    assert message.delivery_info["exchange"] == broker.exchange
    assert message.properties["message_id"] == event["message_id"]
    assert message.properties["type"] == "order.created"
    assert message.properties["delivery_mode"] == 2
    assert event["published_at"] is not None


def test_each_event_has_its_own_message_id(orders: Orders, broker: Broker) -> None:
    orders.create()
    orders.create()

    ids = [message.properties["message_id"] for message in broker.messages()]

    assert len(ids) == len(set(ids)) == 2


def test_a_retried_create_announces_the_order_once(
    app: Flask, orders: Orders, broker: Broker
) -> None:
    orders.create(key="once")
    orders.create(key="once")

    assert len(broker.messages()) == 1
    assert len(outbox(app)) == 1


def test_order_is_accepted_while_the_broker_is_down_and_its_event_waits(
    app: Flask, orders: Orders, broker: Broker
) -> None:
    with broker_down():
        response = orders.create()

    assert response.status_code == 201
    assert response.get_json()["status"] == "created"
    assert count_rows(app, "orders") == 1
    [event] = outbox(app)
    assert event["published_at"] is None
    assert broker.messages() == []


def test_waiting_event_is_published_by_the_next_relay_first(
    app: Flask, orders: Orders, broker: Broker
) -> None:
    with broker_down():
        waited = orders.create("WAITED").get_json()

    later = orders.create("LATER").get_json()

    assert [json.loads(message.body) for message in broker.messages()] == [waited, later]
    assert all(event["published_at"] is not None for event in outbox(app))


def test_relay_command_publishes_waiting_events(app: Flask, orders: Orders, broker: Broker) -> None:
    with broker_down():
        waited = orders.create().get_json()

    with app.app_context():  # as the flask command pushes one
        result = app.test_cli_runner().invoke(args=["events", "relay"])

    assert result.exit_code == 0, result.output
    assert "published 1 event(s)" in result.output
    assert [json.loads(message.body) for message in broker.messages()] == [waited]


def test_an_order_whose_event_cannot_be_stored_is_not_stored_either(
    app: Flask, orders: Orders, broker: Broker
) -> None:
    def outbox_write_fails(*_args: Any) -> None:
        raise sa.exc.OperationalError("INSERT INTO outbox", {}, Exception("disk I/O error"))

    sa.event.listen(OutboxMessage, "before_insert", outbox_write_fails)
    try:
        response = orders.create()
    finally:
        sa.event.remove(OutboxMessage, "before_insert", outbox_write_fails)

    # A failing database write is the database's outage: 503, and nothing is kept.
    assert response.status_code == 503
    assert count_rows(app, "orders") == 0
    assert outbox(app) == []
    assert broker.messages() == []


def test_readiness_stays_200_and_reports_the_broker_degraded_when_it_is_down(app: Flask) -> None:
    with broker_down():
        outcome = assert_degraded(app.test_client(), "broker")

    assert "Connection refused" in outcome


def test_without_a_broker_url_events_stay_in_process_and_readiness_says_so(
    make_app: MakeApp,
) -> None:
    response = make_app(BROKER_URL=None).test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["checks"]["broker"] == "embedded"


def test_the_production_configuration_refuses_to_start_without_a_broker_url(
    make_app: MakeApp,
) -> None:
    with pytest.raises(RuntimeError, match="FLASK_BROKER_URL is not set"):
        make_app(BROKER_URL=None, EMBEDDED_DEFAULTS=False)
