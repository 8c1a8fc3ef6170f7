"""Events on a real RabbitMQ: a queue of the test's own, bound to the service's exchange, receives
exactly one ``order.created`` per order created, with its body, properties and content type.

The service's promise when the broker is unavailable (``events.py``): the order is still accepted
(201), its event waits in the outbox, and the next relay publishes it once the broker is back.
"""

from __future__ import annotations

import json
import time
import uuid

import sqlalchemy as sa
from flask import Flask

from {{ cookiecutter.package_name }}.dependencies.events import CONTENT_TYPE
from tests.fixtures import docker
from tests.fixtures.rabbitmq import EventQueue

from ..orders_api import Orders

BROKER_TIMEOUT = 0.5  # service_config's BROKER_TIMEOUT_SECONDS


def waiting_in_outbox(connection: sa.Connection) -> list[int]:
    """The ids of the orders whose event has not been published yet."""
    bodies = connection.execute(
        sa.text("SELECT body FROM outbox WHERE published_at IS NULL ORDER BY id")
    ).scalars()
    return [json.loads(body)["id"] for body in bodies]


def test_creating_an_order_publishes_exactly_one_order_created(
    orders: Orders, order_events: EventQueue, connection: sa.Connection
) -> None:
    order = orders.created()

    messages = order_events.take(1)

    assert len(messages) == 1
    [message] = messages
    assert message.delivery_info["routing_key"] == "order.created"
    assert message.content_type == CONTENT_TYPE
    assert message.content_encoding == "utf-8"
    assert json.loads(message.body) == order
    assert message.properties["type"] == "order.created"
    assert message.properties["app_id"] == "{{ cookiecutter.project_slug }}"
    assert message.properties["delivery_mode"] == 2
    assert uuid.UUID(message.properties["message_id"])
    assert waiting_in_outbox(connection) == []


def test_each_order_gets_its_own_event_in_order(orders: Orders, order_events: EventQueue) -> None:
    first, second = orders.created(sku="SKU-1"), orders.created(sku="SKU-2")

    messages = order_events.take(2)

    assert [json.loads(message.body)["id"] for message in messages] == [first["id"], second["id"]]
    assert len({message.properties["message_id"] for message in messages}) == 2


def test_repeating_a_create_with_its_idempotency_key_publishes_nothing_more(
    orders: Orders, order_events: EventQueue
) -> None:
    assert orders.create(key="key-1").status_code == 201
    assert orders.create(key="key-1").status_code == 200

    assert len(order_events.take(1)) == 1


def test_with_the_broker_down_the_order_is_accepted_and_published_by_the_next_relay(
    orders: Orders,
    order_events: EventQueue,
    connection: sa.Connection,
    broker_outage: docker.Outage,
) -> None:
    with broker_outage():
        began = time.perf_counter()
        response = orders.create(sku="SKU-1")
        took = time.perf_counter() - began

    assert response.status_code == 201, response.get_data(as_text=True)
    assert took < BROKER_TIMEOUT + 1.5
    accepted = response.get_json()["id"]
    assert waiting_in_outbox(connection) == [accepted]
    assert order_events.take(0) == []  # nothing was published meanwhile

    # The broker is back: the next write relays what waited, oldest first.
    later = orders.created(sku="SKU-2")

    messages = order_events.take(2)
    assert [json.loads(message.body)["id"] for message in messages] == [accepted, later["id"]]
    assert waiting_in_outbox(connection) == []


def test_the_relay_command_publishes_what_waits(
    app: Flask, orders: Orders, order_events: EventQueue, broker_outage: docker.Outage
) -> None:
    with broker_outage():
        accepted = orders.create().get_json()["id"]

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["events", "relay"])

    assert result.output == "published 1 event(s)\n"
    assert [json.loads(message.body)["id"] for message in order_events.take(1)] == [accepted]
