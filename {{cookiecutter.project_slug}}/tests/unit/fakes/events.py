"""The broker, for the unit layer: kombu's in-process ``memory://`` transport, an exchange of the
layer's own; and what the tests of events do with it: read the outbox, make a relay pass, have the
broker refuse publishes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import Flask
from kombu import Connection, Exchange, Producer, Queue
from kombu.exceptions import OperationalError

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }}.dependencies import events
from {{ cookiecutter.package_name }}.dependencies.events import OutboxMessage
from tests.support.apps import engine_of

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["fake_broker", "fake_broker_reset", "fake_broker_settings"]


@dataclass
class Broker:
    """kombu's in-process broker, with an exchange for this layer and a queue bound to it."""

    exchange: str
    queue: Queue
    connection: Connection

    def messages(self) -> list[Any]:
        """Every message waiting in the queue, oldest first (they are consumed)."""
        bound = self.queue(self.connection.default_channel)
        received = []
        while (message := bound.get(no_ack=True)) is not None:
            received.append(message)
        return received

    def purge(self) -> None:
        """Drops every message waiting in the queue."""
        self.queue(self.connection.default_channel).purge()


@pytest.fixture(scope="package")
def fake_broker() -> Iterator[Broker]:
    # The memory transport is one per process: a name of its own keeps other layers' messages out.
    name = f"orders-{uuid.uuid4().hex}"
    exchange = Exchange(name, type="topic", durable=True)
    queue = Queue(f"{name}-all", exchange=exchange, routing_key="#")
    with Connection("memory://localhost/") as connection:
        queue(connection.default_channel).declare()
        yield Broker(name, queue, connection)


@pytest.fixture(scope="package")
def fake_broker_settings(fake_broker: Broker) -> dict[str, Any]:
    return {"BROKER_URL": "memory://", "BROKER_EXCHANGE": fake_broker.exchange}


@pytest.fixture
def fake_broker_reset(fake_broker: Broker) -> None:
    """The queue outlives each test: every test finds it empty."""
    fake_broker.purge()


def outbox(app: Flask) -> list[dict[str, Any]]:
    with engine_of(app).connect() as connection:
        rows = connection.execute(sa.select(OutboxMessage.__table__).order_by("id"))
        return [dict(row._mapping) for row in rows]


def relay(app: Flask) -> int:
    """One relay pass, as the worker makes it."""
    with app.app_context():
        return events.publisher().relay(db.session(), int(app.config["BROKER_RELAY_BATCH"]))


@contextmanager
def broker_taking_only(count: int) -> Iterator[None]:
    """The broker takes ``count`` publishes, then refuses every other one (a publish it did not
    confirm)."""
    publish = Producer.publish
    taken = 0

    def publish_until_refused(producer: Producer, *args: Any, **kwargs: Any) -> Any:
        nonlocal taken
        if taken >= count:
            raise OperationalError("publish not confirmed")
        taken += 1
        return publish(producer, *args, **kwargs)

    with mock.patch.object(Producer, "publish", publish_until_refused):
        yield
