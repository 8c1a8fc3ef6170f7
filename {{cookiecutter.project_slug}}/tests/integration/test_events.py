"""Events on a real RabbitMQ: a queue of the test's own, bound to the service's exchange, receives
exactly one ``order.created`` per order created, with its body, properties and content type, once
a relay publishes it (the worker's pass, outside the request).

The service's promise when the broker is unavailable (``events.py``): the order is still accepted
(201) at once, its event waits in the outbox, and the worker publishes it once the broker is back;
two relays at once never publish an event twice (on a server: rows claimed with SKIP LOCKED).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import Flask

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }}.dependencies import events
from {{ cookiecutter.package_name }}.dependencies.events import CONTENT_TYPE
from tests.fixtures.rabbitmq import EventQueue, relay
from tests.support.api import Orders, order_body
from tests.support.apps import MakeApp
from tests.support.readiness import Outage, assert_degraded_during

BROKER_TIMEOUT = 0.5  # service_config's BROKER_TIMEOUT_SECONDS


OLDEST_WAITING = sa.text("SELECT MIN(id) FROM outbox WHERE published_at IS NULL")


def waiting_in_outbox(connection: sa.Connection) -> list[int]:
    """The ids of the orders whose event has not been published yet."""
    bodies = connection.execute(
        sa.text("SELECT body FROM outbox WHERE published_at IS NULL ORDER BY id")
    ).scalars()
    return [json.loads(body)["id"] for body in bodies]


def test_creating_an_order_publishes_exactly_one_order_created(
    app: Flask, orders: Orders, order_events: EventQueue, connection: sa.Connection
) -> None:
    order = orders.created()
    assert relay(app) == 1

    messages = order_events.take(1)

    assert len(messages) == 1
    [message] = messages
    assert message.delivery_info["routing_key"] == "order.created"
    assert message.content_type == CONTENT_TYPE
    assert message.content_encoding == "utf-8"
    assert json.loads(message.body) == orders.announced(order)
    assert message.properties["type"] == "order.created"
    assert message.properties["app_id"] == "{{ cookiecutter.project_slug }}"
    assert message.properties["delivery_mode"] == 2
    assert uuid.UUID(message.properties["message_id"])
    assert waiting_in_outbox(connection) == []


def test_an_event_the_broker_refuses_waits_in_the_outbox_until_it_is_taken(
    app: Flask,
    orders: Orders,
    order_events: EventQueue,
    connection: sa.Connection,
    broker_refusing: Outage,
) -> None:
    order = orders.created()

    with broker_refusing():
        assert relay(app) == 0
        assert waiting_in_outbox(connection) == [order["id"]]
    assert relay(app) == 1

    assert waiting_in_outbox(connection) == []
    # At least once: a queue the broker did not refuse may also hold the refused copy.
    messages = order_events.take(1)
    assert {json.loads(message.body)["id"] for message in messages} == {order["id"]}
    assert len({message.properties["message_id"] for message in messages}) == 1


def test_each_order_gets_its_own_event_in_order(
    app: Flask, orders: Orders, order_events: EventQueue
) -> None:
    first, second = orders.created(sku="SKU-1"), orders.created(sku="SKU-2")
    relay(app)

    messages = order_events.take(2)

    assert [json.loads(message.body)["id"] for message in messages] == [first["id"], second["id"]]
    assert len({message.properties["message_id"] for message in messages}) == 2


def test_the_oldest_event_goes_first_after_an_update_moved_its_row(
    app: Flask, orders: Orders, order_events: EventQueue, connection: sa.Connection
) -> None:
    first, second = orders.created(sku="SKU-1"), orders.created(sku="SKU-2")
    # The oldest event marked published, then handed back to be published again (as an operator
    # does to replay one): a server writes each updated row anew, after the others, so that a
    # claim without ORDER BY now meets the oldest event last.
    with app.app_context():
        session = db.session()
        oldest = {"id": session.execute(OLDEST_WAITING).scalar_one()}
        for published_at in ("created_at", "NULL"):
            session.execute(
                sa.text(f"UPDATE outbox SET published_at = {published_at} WHERE id = :id"),  # noqa: S608
                oldest,
            )
        session.commit()

    assert relay(app, batch=1) == 1

    [message] = order_events.take(1)
    assert json.loads(message.body)["id"] == first["id"]
    assert waiting_in_outbox(connection) == [second["id"]]


def test_repeating_a_create_with_its_idempotency_key_publishes_nothing_more(
    app: Flask, orders: Orders, order_events: EventQueue
) -> None:
    assert orders.create(key="key-1").status_code == 201
    assert orders.create(key="key-1").status_code == 200
    relay(app)

    assert len(order_events.take(1)) == 1


def test_with_the_broker_down_the_order_is_accepted_at_once_and_published_when_it_is_back(
    app: Flask,
    orders: Orders,
    order_events: EventQueue,
    connection: sa.Connection,
    broker_outage: Outage,
) -> None:
    with broker_outage():
        began = time.perf_counter()
        response = orders.create(sku="SKU-1")
        took = time.perf_counter() - began
        assert relay(app) == 0  # a pass meanwhile publishes nothing, and gives up in time

    assert response.status_code == 201, response.get_data(as_text=True)
    assert took < BROKER_TIMEOUT  # the request never waited on the broker
    accepted = response.get_json()["id"]
    assert waiting_in_outbox(connection) == [accepted]
    assert order_events.take(0) == []  # nothing was published meanwhile

    # The broker is back: the next pass publishes what waited, oldest first, with no new write.
    later = orders.created(sku="SKU-2")
    assert relay(app) == 2

    messages = order_events.take(2)
    assert [json.loads(message.body)["id"] for message in messages] == [accepted, later["id"]]
    assert waiting_in_outbox(connection) == []


def test_the_worker_publishes_what_waits_without_any_further_request(
    app: Flask, orders: Orders, order_events: EventQueue
) -> None:
    accepted = orders.created()
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker = pool.submit(events.run_worker, lambda: relay(app), 0.05, stop)
        messages = order_events.take(1, timeout=2.0)
        stop.set()
        assert worker.result(timeout=5) == 1

    assert [json.loads(message.body)["id"] for message in messages] == [accepted["id"]]


def test_two_relays_at_once_publish_each_event_once(
    committing_app: Flask, order_events: EventQueue, database_url: str
) -> None:
    client = committing_app.test_client()
    created = [client.post("/orders", json=order_body()).get_json()["id"] for _ in range(30)]
    # Row locks make relays safe to run side by side; SQLite has none: one relay there.
    relays = 1 if database_url.startswith("sqlite") else 2

    def drain() -> int:
        sent = 0
        while (batch := relay(committing_app, batch=3)) > 0:
            sent += batch
        return sent

    with ThreadPoolExecutor(max_workers=relays) as pool:
        sent = sum(pool.map(lambda _: drain(), range(relays)))

    messages = order_events.take(len(created), timeout=5.0)
    ids = [message.properties["message_id"] for message in messages]
    assert sent == len(created)
    assert len(ids) == len(set(ids)) == len(created)
    assert sorted(json.loads(message.body)["id"] for message in messages) == sorted(created)


def test_the_relay_command_publishes_what_waits(
    app: Flask, orders: Orders, order_events: EventQueue, broker_outage: Outage
) -> None:
    with broker_outage():
        accepted = orders.create().get_json()["id"]

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["events", "relay"])

    assert result.output == "published 1 event(s)\n"
    assert [json.loads(message.body)["id"] for message in order_events.take(1)] == [accepted]


def test_still_ready_and_reporting_the_broker_degraded_while_it_is_down(
    make_app: MakeApp, broker_outage: Outage
) -> None:
    assert_degraded_during(broker_outage, make_app, "broker")
