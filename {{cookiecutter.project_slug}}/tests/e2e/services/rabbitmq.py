"""RabbitMQ in the stack: its AMQP port published for the tests, and a queue of each test's own
bound to the service's exchange for every ``order.*`` event; the relay polls often.

The queue is durable and not exclusive, so that it outlives a broker restarted by a scenario; each
read opens a connection of its own for the same reason.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

from tests.e2e.stack import Stack, loopback_port
from tests.support import docker

SERVICE = "rabbitmq"
AMQP_PORT = 5672
EXCHANGE = Exchange("orders", type="topic", durable=True)


@pytest.fixture(scope="session")
def rabbitmq_override() -> dict[str, Any]:
    return {
        "services": {
            SERVICE: {
                "ports": [f"{docker.publish_address()}:{loopback_port()}:{AMQP_PORT}"],
                # Checked every second: the stack's start and each restart wait on this check.
                "healthcheck": {"interval": "1s"},
            },
            "relay": {
                "environment": {
                    "FLASK_BROKER_TIMEOUT_SECONDS": "1",
                    "FLASK_BROKER_RELAY_INTERVAL_SECONDS": "0.1",
                }
            },
        }
    }


class EventQueue:
    def __init__(self, url: str) -> None:
        self.url = url
        self.queue = Queue(
            f"e2e-{uuid.uuid4().hex}", exchange=EXCHANGE, routing_key="order.*", durable=True
        )
        with self._connection() as connection:
            EXCHANGE(connection.default_channel).declare()
            self.queue(connection.default_channel).declare()

    def _connection(self) -> Connection:
        """A connection, waiting for a broker a scenario has just started again."""
        connection = Connection(self.url, connect_timeout=5)
        connection.ensure_connection(
            max_retries=100, interval_start=0.2, interval_step=0, interval_max=0.2, timeout=30
        )
        return connection

    def drain(self) -> list[Any]:
        """Every message waiting now, consumed (pushed to a consumer: one round trip per message,
        as ``basic_get`` would take, is too slow for a backlog)."""
        received: list[Any] = []
        with self._connection() as connection:
            consumer = connection.Consumer(self.queue, on_message=received.append, no_ack=True)
            with consumer, contextlib.suppress(TimeoutError):
                while True:
                    connection.drain_events(timeout=0.2)
        return received

    def take(self, count: int, timeout: float) -> list[Any]:
        """Waits up to ``timeout`` for ``count`` messages; returns all that came (then a short
        while longer, to see a duplicate)."""
        received: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            received += self.drain()
            if len(received) < count:
                time.sleep(0.05)
        time.sleep(0.3)
        return received + self.drain()

    def waiting(self) -> int:
        """How many messages wait in the queue now (none consumed)."""
        with self._connection() as connection:
            declared = self.queue(connection.default_channel).queue_declare(passive=True)
        count: int = declared.message_count
        return count

    def wait_accepting(self) -> None:
        """Returns once the broker accepts connections (its health check passes earlier)."""
        with self._connection():
            pass

    def delete(self) -> None:
        with contextlib.suppress(Exception), self._connection() as connection:
            self.queue(connection.default_channel).delete()


@pytest.fixture
def event_queue(stack: Stack) -> Iterator[EventQueue]:
    broker = stack.environment(SERVICE)
    user, password = broker["RABBITMQ_DEFAULT_USER"], broker["RABBITMQ_DEFAULT_PASS"]
    host, port = docker.engine_host(), stack.port(SERVICE, AMQP_PORT)
    events = EventQueue(f"amqp://{user}:{password}@{host}:{port}//")
    yield events
    events.delete()
