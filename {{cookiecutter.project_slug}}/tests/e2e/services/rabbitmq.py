"""RabbitMQ in the stack: its AMQP port published, for a scenario to read what the service published
there (``event_queue``); the relay polls often."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

from tests.e2e.stack import Override, Stack, eventually, free_ports
from tests.support import docker

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["amqp_url", "event_queue", "rabbitmq_override"]

SERVICE = "rabbitmq"
AMQP_PORT = 5672
# The relays' bounds on the broker, short: a pass on a hung broker costs this, and an outage need
# last only a few of them; a relay looks for waiting events this often.
BROKER_TIMEOUT_SECONDS = 0.5
RELAY_INTERVAL_SECONDS = 0.1
# The broker out for a few of the relays' bounds on it: passes that fail, and more than ten
# requests from the load meanwhile.
OUTAGE_SECONDS = 3 * BROKER_TIMEOUT_SECONDS
# How soon the waiting events must be out once the broker accepts connections again (the relay
# polls every RELAY_INTERVAL_SECONDS here; the rest is the backlog itself, a few hundred events).
PUBLISHED_WITHIN_SECONDS = 3.0


@pytest.fixture(scope="session")
def rabbitmq_override() -> Override:
    return {
        SERVICE: {
            "ports": [f"{docker.publish_address()}:{free_ports(1)[0]}:{AMQP_PORT}"],
            # Checked every second: the stack's start and each restart wait on this check.
            "healthcheck": {"interval": "1s"},
        },
        "relay": {
            "environment": {
                "FLASK_BROKER_TIMEOUT_SECONDS": str(BROKER_TIMEOUT_SECONDS),
                "FLASK_BROKER_RELAY_INTERVAL_SECONDS": str(RELAY_INTERVAL_SECONDS),
            }
        },
    }


@pytest.fixture(scope="session")
def amqp_url(stack: Stack) -> str:
    broker = stack.config["services"][SERVICE]["environment"]
    user, password = broker["RABBITMQ_DEFAULT_USER"], broker["RABBITMQ_DEFAULT_PASS"]
    return f"amqp://{user}:{password}@{docker.engine_host()}:{stack.port(SERVICE, AMQP_PORT)}//"


class EventQueue:
    """A queue of the test's own, bound to the service's exchange for every ``order.*`` event:
    durable, and read on a connection of its own each time, so that it outlives a broker that a
    scenario restarts."""

    def __init__(self, url: str) -> None:
        self.url, name = url, f"e2e-{uuid.uuid4().hex}"
        exchange = Exchange("orders", type="topic", durable=True)
        # Unused for two minutes (longer than any test runs), it is deleted by the broker.
        self.queue = Queue(name, exchange, "order.*", durable=True, expires=120)
        with self.connection() as connection:
            self.queue(connection).declare()

    def connection(self) -> Connection:
        """Connected, once the broker accepts connections (a scenario may have just started it)."""
        broker = Connection(self.url, connect_timeout=5)
        broker.ensure_connection(max_retries=100, interval_start=0.2, interval_step=0, timeout=30)
        return broker

    def drain(self) -> list[Any]:
        """Every message waiting now, consumed (pushed to a consumer: a backlog read one round trip
        per message, as ``basic_get`` reads it, takes too long)."""
        received: list[Any] = []
        with self.connection() as connection:
            consumer = connection.Consumer(self.queue, on_message=received.append, no_ack=True)
            with consumer, contextlib.suppress(TimeoutError):
                while True:
                    connection.drain_events(timeout=0.2)
        return received

    def take(self, count: int, timeout: float) -> list[Any]:
        """Waits up to ``timeout`` for ``count`` messages; all that came, and any duplicate that
        comes a short while later."""
        received = self.drain()
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            received += self.drain()
        time.sleep(0.3)
        return received + self.drain()

    def first_arrived(self, timeout: float) -> None:
        """Returns as soon as a message waits in the queue (none consumed), asked on one connection:
        a connection per question would give a starved relay time to finish its batch."""
        with self.connection() as connection:
            queue = self.queue(connection)
            eventually(lambda: queue.queue_declare(passive=True).message_count > 0, timeout, 0.01)


@pytest.fixture
def event_queue(amqp_url: str) -> EventQueue:
    return EventQueue(amqp_url)
