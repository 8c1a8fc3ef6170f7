"""The broker, for the unit layer: kombu's in-process ``memory://`` transport, an exchange of the
layer's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

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
