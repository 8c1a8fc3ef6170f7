"""The unit layer: the app in process, every boundary replaced, the network forbidden.

Each test gets its own app, with every chosen dependency configured and answered in process:

- the database: SQLite in memory (one shared connection), its tables made with ``create_all``;
{%- if cookiecutter.cache == "redis" %}
- Redis: ``FakeRedis``, handed out by a patched ``redis.Redis.from_url``;
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
- the broker: kombu's in-process ``memory://`` transport, an exchange per test;
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
- the pricing service: ``responses``, which answers ``requests`` without a socket;
{%- endif %}

and any real socket or DNS lookup fails the test (pytest-socket).
"""

from __future__ import annotations

import os
{%- if cookiecutter.upstream_api == "yes" %}
import re
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
import uuid
{%- endif %}
from collections.abc import Callable, Iterator
{%- if cookiecutter.message_broker == "rabbitmq" %}
from dataclasses import dataclass
{%- endif %}
from decimal import Decimal
{%- if cookiecutter.cache == "redis" or cookiecutter.message_broker == "rabbitmq" %}
from typing import Any
{%- endif %}
{%- if cookiecutter.cache == "redis" %}
from unittest import mock
{%- endif %}

import pytest
{%- if cookiecutter.cache == "redis" %}
import redis
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
import responses
{%- endif %}
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
{%- if cookiecutter.message_broker == "rabbitmq" %}
from kombu import Connection, Exchange, Queue
{%- endif %}
from pytest_socket import disable_socket

from {{ cookiecutter.package_name }} import create_app, db
from {{ cookiecutter.package_name }}.db import Base
from {{ cookiecutter.package_name }}.models import CREATED, Order

from ..orders_api import Orders
{%- if cookiecutter.upstream_api == "yes" or cookiecutter.cache == "redis" %}
{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
PRICING_URL = "http://pricing.test"
PRICING_RETRIES = 2
PRICING_BREAKER_FAIL_MAX = 3
UNIT_PRICE = "12.50"
{%- endif %}
{%- if cookiecutter.cache == "redis" %}
REDIS_URL = "redis://cache.test:6379/0"
{%- endif %}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture runs: nothing in this layer may open a socket or resolve a name.
    disable_socket(allow_unix_socket=False)


@pytest.fixture(autouse=True)
def _no_flask_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # FLASK_* variables of the developer's shell must not point unit tests at real services.
    for name in [name for name in os.environ if name.startswith("FLASK_")]:
        monkeypatch.delenv(name)
{%- if cookiecutter.cache == "redis" %}


class FakeRedis:
    """The part of ``redis.Redis`` the cache uses, in memory; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.ttls: dict[str, int | None] = {}
        self.down = False

    def _reachable(self) -> None:
        if self.down:
            raise redis.ConnectionError("Error 111 connecting to cache.test:6379: refused.")

    def get(self, key: str) -> bytes | None:
        self._reachable()
        return self.values.get(key)

    def set(self, key: str, value: str, ex: int | None = None, **_options: Any) -> bool:
        self._reachable()
        self.values[key] = value.encode()
        self.ttls[key] = ex
        return True

    def delete(self, *keys: str) -> int:
        self._reachable()
        removed = [key for key in keys if self.values.pop(key, None) is not None]
        return len(removed)

    def ping(self) -> bool:
        self._reachable()
        return True


@pytest.fixture
def fake_redis() -> Iterator[FakeRedis]:
    fake = FakeRedis()
    with mock.patch.object(redis.Redis, "from_url", return_value=fake):
        yield fake
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}


@dataclass
class Broker:
    """kombu's in-process broker, with an exchange for this test and a queue bound to it."""

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


@pytest.fixture
def broker() -> Iterator[Broker]:
    name = f"orders-{uuid.uuid4().hex}"
    exchange = Exchange(name, type="topic", durable=True)
    queue = Queue(f"{name}-all", exchange=exchange, routing_key="#")
    with Connection("memory://localhost/") as connection:
        queue(connection.default_channel).declare()
        yield Broker(name, queue, connection)
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}


@pytest.fixture(autouse=True)
def upstream() -> Iterator[responses.RequestsMock]:
    """The pricing service: every SKU costs ``UNIT_PRICE`` EUR unless a test says otherwise.

    Active in every test, so that no HTTP call can leave the process. A test that wants other
    answers calls ``upstream.reset()`` first (``responses`` would otherwise use each of two
    matching answers once)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add(
            responses.GET,
            re.compile(rf"{PRICING_URL}/prices/[^/]+"),
            json={"unit_price": UNIT_PRICE, "currency": "EUR"},
        )
        mocked.add(responses.GET, f"{PRICING_URL}/health", json={"status": "ok"})
        yield mocked
{%- endif %}


def unit_config() -> dict[str, object]:
    """Every chosen dependency configured, each answered in process."""
    return {
        "TESTING": True,
        "DATABASE_URL": "sqlite://",
{%- if cookiecutter.cache == "redis" %}
        "REDIS_URL": REDIS_URL,
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
        "BROKER_URL": "memory://",
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
        "PRICING_URL": PRICING_URL,
        "PRICING_RETRIES": PRICING_RETRIES,
        "PRICING_BACKOFF_SECONDS": 0,
        "PRICING_BREAKER_FAIL_MAX": PRICING_BREAKER_FAIL_MAX,
{%- endif %}
    }


MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(
{%- if cookiecutter.cache == "redis" %}fake_redis: FakeRedis{% endif %}
{%- if cookiecutter.cache == "redis" and cookiecutter.message_broker == "rabbitmq" %}, {% endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}broker: Broker{% endif -%}
) -> Iterator[MakeApp]:
    """Builds an app from the unit configuration and ``overrides``; its schema is made unless
    ``schema=False``. Engines are disposed of after the test."""
    apps: list[Flask] = []

    def make(schema: bool = True, **overrides: object) -> Flask:
        config = unit_config()
{%- if cookiecutter.message_broker == "rabbitmq" %}
        config["BROKER_EXCHANGE"] = broker.exchange
{%- endif %}
        app = create_app({**config, **overrides})
        apps.append(app)
        if schema:
            Base.metadata.create_all(engine_of(app), checkfirst=False)
        return app

    yield make
    for app in apps:
        engine_of(app).dispose()


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def engine_of(app: Flask) -> sa.Engine:
    database: db.Database = app.extensions[db.EXTENSION]
    return database.engine


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)


def stored_orders(app: Flask, count: int) -> list[int]:
    """Stores ``count`` orders straight into the database; returns their ids in order."""
    with app.app_context():
        session = db.session()
        orders = [
            Order(sku=f"SKU-{n}", quantity=1, unit_price=Decimal("1.00"), currency="EUR")
            for n in range(count)
        ]
        for order in orders:
            order.change_status(CREATED)
        session.add_all(orders)
        session.commit()
        return [order.id for order in orders]


def count_rows(app: Flask, table: str) -> int:
    with engine_of(app).connect() as connection:
        count: int = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
    return count
