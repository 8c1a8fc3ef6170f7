"""The read-through cache against a real Redis: misses fill it, hits skip the database, writes
invalidate, entries expire, and a cache that hangs or is gone only costs speed."""

from __future__ import annotations

import json
import time
from typing import Any

import redis
import sqlalchemy as sa
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.dependencies.cache import SETTINGS, OrderCache
from tests.fixtures import docker
from tests.fixtures.redis import CACHE_SETTINGS, redis_container, url_of
from tests.support.api import Orders
from tests.support.apps import MakeApp
from tests.support.readiness import Outage, assert_degraded_during

SOCKET_TIMEOUT = CACHE_SETTINGS["CACHE_SOCKET_TIMEOUT_SECONDS"]
# The TTL of an app made to see an entry expire: short, so that the test waits a fraction of a
# second; the entry must be gone within a few times it, and not before it.
SHORT_TTL_SECONDS = 0.3


def change_behind_the_services_back(connection: sa.Connection, order_id: int) -> None:
    connection.execute(
        sa.text("UPDATE orders SET sku = 'CHANGED' WHERE id = :id"), {"id": order_id}
    )


def cached(redis_client: redis.Redis, orders: Orders, order_id: int) -> Any:
    value = redis_client.get(OrderCache.key(order_id, orders.viewer))
    return None if value is None else json.loads(value)


def test_a_read_misses_then_fills_the_cache_for_the_ttl(
    orders: Orders, redis_client: redis.Redis
) -> None:
    order = orders.created()
    assert cached(redis_client, orders, order["id"]) is None  # creating does not fill the cache

    response = orders.get(order["id"])

    assert response.status_code == 200
    assert cached(redis_client, orders, order["id"]) == response.get_json() == order
    ttl = redis_client.ttl(OrderCache.key(order["id"], orders.viewer))
    assert 0 < ttl <= SETTINGS["CACHE_TTL_SECONDS"]


def test_a_cached_order_is_served_without_the_database(
    orders: Orders, redis_client: redis.Redis, connection: sa.Connection
) -> None:
    order = orders.created()
    orders.get(order["id"])
    change_behind_the_services_back(connection, order["id"])

    from_cache = orders.get(order["id"]).get_json()
    redis_client.delete(OrderCache.key(order["id"], orders.viewer))
    from_database = orders.get(order["id"]).get_json()

    assert from_cache["sku"] == order["sku"]
    assert from_database["sku"] == "CHANGED"


def test_cancelling_invalidates_the_entry(orders: Orders, redis_client: redis.Redis) -> None:
    order_id = orders.created()["id"]
    orders.get(order_id)

    assert orders.cancel(order_id).status_code == 200

    assert cached(redis_client, orders, order_id) is None
    assert orders.get(order_id).get_json()["status"] == "cancelled"
    assert cached(redis_client, orders, order_id)["status"] == "cancelled"


def test_an_entry_expires_after_its_ttl(
    make_app: MakeApp, redis_client: redis.Redis, connection: sa.Connection
) -> None:
    orders = Orders(make_app(CACHE_TTL_SECONDS=SHORT_TTL_SECONDS).test_client())
    order_id = orders.created()["id"]
    orders.get(order_id)
    filled = time.monotonic()
    key = OrderCache.key(order_id, orders.viewer)
    assert 0 < redis_client.pttl(key) <= SHORT_TTL_SECONDS * 1000

    deadline = filled + SHORT_TTL_SECONDS * 3
    while redis_client.exists(key) and time.monotonic() < deadline:
        time.sleep(SHORT_TTL_SECONDS / 10)
    change_behind_the_services_back(connection, order_id)

    assert not redis_client.exists(key)
    assert orders.get(order_id).get_json()["sku"] == "CHANGED"


def test_with_the_cache_hanging_reads_come_from_the_database_and_readiness_reports_it_degraded(
    orders: Orders,
    client: FlaskClient,
    connection: sa.Connection,
    cache_outage: Outage,
) -> None:
    order_id = orders.created()["id"]
    orders.get(order_id)
    change_behind_the_services_back(connection, order_id)

    with cache_outage():
        began = time.perf_counter()
        response = orders.get(order_id)
        took = time.perf_counter() - began
        readiness = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["sku"] == "CHANGED"  # the database's, not the cache's
    assert took < 2 * SOCKET_TIMEOUT + 1.0  # two socket timeouts (read, then write), and slack
    assert readiness.status_code == 200
    assert readiness.get_json()["degraded"] == ["cache"]


def test_with_the_cache_stopped_reads_come_from_the_database_and_readiness_reports_it_degraded(
    make_app: MakeApp,
) -> None:
    with docker.throwaway(redis_container) as own:
        client = make_app(REDIS_URL=url_of(own)).test_client()
        orders = Orders(client)
        order = orders.created()
        orders.get(order["id"])
        own.get_wrapped_container().stop(timeout=1)

        response = orders.get(order["id"])
        readiness = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == order
    assert readiness.status_code == 200
    assert readiness.get_json()["degraded"] == ["cache"]


def test_still_ready_and_reporting_the_cache_degraded_while_it_is_down(
    make_app: MakeApp, cache_outage: Outage
) -> None:
    assert_degraded_during(cache_outage, make_app, "cache")
