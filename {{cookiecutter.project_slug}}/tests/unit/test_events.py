"""order.created goes through a transactional outbox to the broker (kombu's in-process
``memory://`` transport here), published by a relay outside the request: creating an order never
touches the broker, and a broker outage loses no order and no event."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import Flask
from kombu import Producer
from kombu.exceptions import OperationalError

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }}.config import MissingSetting
from {{ cookiecutter.package_name }}.dependencies import events
from {{ cookiecutter.package_name }}.dependencies.events import OutboxMessage
from tests.support.api import Orders, order_body
from tests.support.apps import (
    MakeApp,
    assert_degraded,
    count_rows,
    each_of_two_turns,
    each_unset_value,
)
from tests.unit.fakes.events import Broker, broker_taking_only, outbox, relay

# The message's own properties besides its timestamp (AMQP basic properties).
PROPERTIES = ("message_id", "type", "app_id", "delivery_mode")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


@contextmanager
def broker_down() -> Iterator[None]:
    refused = OperationalError("[Errno 111] Connection refused")
    with mock.patch.object(events, "Connection", side_effect=refused):
        yield


def test_create_writes_order_created_to_the_outbox(app: Flask, orders: Orders) -> None:
    order = orders.create().get_json()

    [event] = outbox(app)
    assert event["routing_key"] == "order.created"
    assert json.loads(event["body"]) == orders.announced(order)


def test_creating_an_order_never_touches_the_broker(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    with mock.patch.object(events, "Connection") as connection:
        response = orders.create()

    assert response.status_code == 201
    connection.assert_not_called()
    assert fake_broker.messages() == []
    [event] = outbox(app)
    assert event["published_at"] is None


def test_relay_publishes_the_event_as_json_and_marks_it_published(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    order = orders.create().get_json()

    assert relay(app) == 1

    [message] = fake_broker.messages()
    [event] = outbox(app)
    assert json.loads(message.body) == orders.announced(order)
    assert message.content_type == "application/json"
    assert message.delivery_info["routing_key"] == "order.created"
    assert message.delivery_info["exchange"] == fake_broker.exchange
    assert message.properties["message_id"] == event["message_id"]
    assert message.properties["type"] == "order.created"
    assert message.properties["delivery_mode"] == 2
    assert event["published_at"] is not None


def test_each_event_has_its_own_message_id(app: Flask, orders: Orders, fake_broker: Broker) -> None:
    orders.create()
    orders.create()
    relay(app)

    ids = [message.properties["message_id"] for message in fake_broker.messages()]

    assert len(ids) == len(set(ids)) == 2


def test_a_retried_create_announces_the_order_once(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    orders.create(key="once")
    orders.create(key="once")
    relay(app)

    assert len(fake_broker.messages()) == 1
    assert len(outbox(app)) == 1


def test_order_is_accepted_while_the_broker_is_down_and_its_event_waits(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    with broker_down():
        response = orders.create()

    assert response.status_code == 201
    assert response.get_json()["status"] == "created"
    assert count_rows(app, "orders") == 1
    [event] = outbox(app)
    assert event["published_at"] is None
    assert fake_broker.messages() == []


def test_a_relay_pass_while_the_broker_is_down_publishes_nothing_and_keeps_the_event(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    orders.create()

    with broker_down():
        assert relay(app) == 0

    [event] = outbox(app)
    assert event["published_at"] is None
    assert fake_broker.messages() == []


def test_an_event_goes_out_persistent_and_saying_what_it_is(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    before = int(time.time())
    orders.create()

    relay(app)

    [message] = fake_broker.messages()
    [event] = outbox(app)
    # Persistent (delivery mode 2): it outlives a broker restart in a durable queue.
    assert (message.content_type, message.content_encoding) == ("application/json", "utf-8")
    assert {name: message.properties.get(name) for name in PROPERTIES} == {
        "message_id": event["message_id"],
        "type": "order.created",
        "app_id": "{{ cookiecutter.project_slug }}",
        "delivery_mode": 2,
    }
    assert before <= message.properties["timestamp"] <= time.time()


def test_every_publish_is_bounded_by_the_broker_timeout(
    make_app: MakeApp, fake_broker: Broker
) -> None:
    app = make_app(BROKER_TIMEOUT_SECONDS=0.75)
    app.test_client().post("/orders", json=order_body())

    with mock.patch.object(Producer, "publish", autospec=True) as publish:
        assert relay(app) == 1

    [(_, kwargs)] = publish.call_args_list
    assert (kwargs["timeout"], kwargs["confirm_timeout"]) == (0.75, 0.75)
    assert [exchange.name for exchange in kwargs["declare"]] == [app.config["BROKER_EXCHANGE"]]


def test_a_pass_the_broker_cuts_short_logs_how_many_events_wait_and_why(
    app: Flask, orders: Orders, fake_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        orders.create()

    with broker_taking_only(1), caplog.at_level(logging.WARNING, logger=events.__name__):
        relay(app)

    assert warnings(caplog) == [
        "broker unavailable, 2 event(s) wait in the outbox: publish not confirmed"
    ]


def test_a_relay_pass_marks_only_what_the_broker_took_and_leaves_the_rest_waiting(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    first, *rest = (orders.created(sku) for sku in ("FIRST", "SECOND", "THIRD"))

    with broker_taking_only(1):
        assert relay(app) == 1

    assert [json.loads(message.body) for message in fake_broker.messages()] == [
        orders.announced(first)
    ]
    assert [event["published_at"] is not None for event in outbox(app)] == [True, False, False]
    assert relay(app) == 2
    assert [json.loads(message.body) for message in fake_broker.messages()] == [
        orders.announced(order) for order in rest
    ]


def test_waiting_events_are_published_oldest_first_once_the_broker_is_back(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    waited = orders.create("WAITED").get_json()
    with broker_down():
        relay(app)
    later = orders.create("LATER").get_json()

    assert relay(app) == 2

    assert [json.loads(message.body) for message in fake_broker.messages()] == [
        orders.announced(waited),
        orders.announced(later),
    ]
    assert all(event["published_at"] is not None for event in outbox(app))
    assert relay(app) == 0  # nothing is published twice


def test_a_relay_pass_publishes_at_most_a_batch(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    for _ in range(3):
        orders.create()

    with app.app_context():
        assert events.publisher().relay(db.session(), batch=2) == 2

    assert len(fake_broker.messages()) == 2
    assert relay(app) == 1


def dialect(name: str) -> sa.Dialect:
    return sa.engine.make_url(f"{name}://").get_dialect()()


# Every database server SQLAlchemy speaks to with row locks written FOR UPDATE.
SERVERS = sorted(set(sa.dialects.__all__) - {"sqlite", "mssql"})


@pytest.mark.parametrize("server", SERVERS)
def test_a_relay_claims_rows_another_relay_holds_not_by_waiting_but_by_skipping(
    server: str,
) -> None:
    statement = str(events.claim_waiting(10).compile(dialect=dialect(server)))

    assert statement.endswith("FOR UPDATE SKIP LOCKED")


def test_on_sqlite_there_are_no_row_locks_to_claim_with() -> None:
    statement = str(events.claim_waiting(10).compile(dialect=dialect("sqlite")))

    assert "FOR UPDATE" not in statement


class Stop(threading.Event):
    """A stop event that records each pause the worker takes on it, and takes none."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses.append(timeout)
        return self.is_set()


def test_the_worker_runs_the_passes_asked_pausing_only_after_one_that_found_nothing() -> None:
    outcomes = [5, 3, 0]
    stop = Stop()

    published = events.run_worker(lambda: outcomes.pop(0), interval=0.25, stop=stop, passes=3)

    assert (published, outcomes) == (8, [])
    assert stop.pauses == [0.25]


def test_the_worker_polls_until_stopped_and_outlives_a_failing_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[int | Exception] = [0, RuntimeError("database down"), 2, 0]
    stop = threading.Event()

    def relay_pass() -> int:
        outcome = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with caplog.at_level(logging.WARNING, logger=events.__name__):
        assert events.run_worker(relay_pass, interval=0.001, stop=stop) == 2

    assert outcomes == []
    assert warnings(caplog) == ["relay pass failed, retrying: database down"]


def test_a_worker_pass_publishes_at_most_the_configured_batch(
    make_app: MakeApp, fake_broker: Broker
) -> None:
    app = make_app(BROKER_RELAY_BATCH=2)
    for _ in range(3):
        app.test_client().post("/orders", json=order_body())

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["events", "worker", "--passes", "1"])

    assert "published 2 event(s)" in result.output
    assert len(fake_broker.messages()) == 2


def test_the_worker_command_publishes_what_waits_and_beats_after_each_pass(
    app: Flask, orders: Orders, fake_broker: Broker, tmp_path: Path
) -> None:
    waited = orders.create().get_json()
    heartbeat = tmp_path / "heartbeat"

    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["events", "worker", "--passes", "2", "--heartbeat", str(heartbeat)]
        )

    assert result.exit_code == 0, result.output
    assert "published 1 event(s)" in result.output
    assert heartbeat.exists()
    assert [json.loads(message.body) for message in fake_broker.messages()] == [
        orders.announced(waited)
    ]


def test_relay_command_publishes_waiting_events(
    app: Flask, orders: Orders, fake_broker: Broker
) -> None:
    with broker_down():
        waited = orders.create().get_json()

    with app.app_context():  # as the flask command pushes one
        result = app.test_cli_runner().invoke(args=["events", "relay"])

    assert result.exit_code == 0, result.output
    assert "published 1 event(s)" in result.output
    assert [json.loads(message.body) for message in fake_broker.messages()] == [
        orders.announced(waited)
    ]


def test_an_order_whose_event_cannot_be_stored_is_not_stored_either(
    app: Flask, orders: Orders, fake_broker: Broker
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
    assert fake_broker.messages() == []


def test_readiness_stays_200_and_reports_the_broker_degraded_when_it_is_down(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with broker_down():
        assert_degraded(app.test_client(), "broker")

    assert "Connection refused" in caplog.text


def test_without_a_broker_url_events_stay_in_process_and_readiness_says_so(
    make_app: MakeApp,
) -> None:
    response = make_app(BROKER_URL=None).test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["checks"]["broker"] == "embedded"


@each_unset_value
def test_the_production_configuration_refuses_to_start_without_a_broker_url(
    make_app: MakeApp, unset: str | None
) -> None:
    with pytest.raises(MissingSetting, match=r"^FLASK_BROKER_URL is not set: "):
        make_app(BROKER_URL=unset, EMBEDDED_DEFAULTS=False)


@each_of_two_turns
def test_each_test_finds_the_broker_with_no_message_and_may_leave_one(
    app: Flask, orders: Orders, fake_broker: Broker, turn: str
) -> None:
    assert fake_broker.messages() == []

    orders.create(turn)

    assert relay(app) == 1
