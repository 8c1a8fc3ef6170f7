"""Reads go through a Redis read-through cache (a fake here); Redis failing never fails a read."""

from __future__ import annotations

import json
import logging
from typing import Any

import fakeredis
import pytest
import redis
import sqlalchemy as sa
from flask import Flask, request

from {{ cookiecutter.package_name }} import wiring
from {{ cookiecutter.package_name }}.config import InvalidSetting, MissingSetting
from {{ cookiecutter.package_name }}.dependencies.cache import OrderCache
from {{ cookiecutter.package_name }}.models import Order
from tests.support.api import Orders
from tests.support.apps import (
    MakeApp,
    assert_degraded,
    each_of_two_turns,
    each_unset_value,
    engine_of,
)
from tests.unit.fakes.cache import CACHE_TTL_SECONDS


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def connection_error(server: fakeredis.FakeServer) -> str:
    """What a client of the (disconnected) server is told."""
    with pytest.raises(redis.ConnectionError) as raised:
        fakeredis.FakeRedis(server=server).ping()
    return str(raised.value)


def cached(fake_redis: fakeredis.FakeRedis, key: str) -> Any:
    """The document cached under ``key`` (the test fails if there is none)."""
    raw = fake_redis.get(key)
    assert raw is not None, f"nothing cached under {key}"
    return json.loads(raw)


def change_sku_behind_the_service(app: Flask, order_id: int, sku: str) -> None:
    with engine_of(app).begin() as connection:
        connection.execute(
            sa.text("UPDATE orders SET sku = :sku WHERE id = :id"), {"sku": sku, "id": order_id}
        )


def test_first_read_fills_the_cache_with_the_configured_ttl(
    orders: Orders, fake_redis: fakeredis.FakeRedis
) -> None:
    order_id = orders.created_id()
    key = OrderCache.key(order_id, orders.viewer)
    assert not fake_redis.exists(key)

    response = orders.get(order_id)

    assert response.status_code == 200
    assert cached(fake_redis, key) == response.get_json()
    assert fake_redis.ttl(key) == CACHE_TTL_SECONDS


def test_second_read_is_served_from_the_cache(app: Flask, orders: Orders) -> None:
    order_id = orders.created_id("CACHED")
    orders.get(order_id)
    change_sku_behind_the_service(app, order_id, "CHANGED")

    response = orders.get(order_id)

    assert response.status_code == 200
    assert response.get_json()["sku"] == "CACHED"


def test_each_order_is_cached_as_itself(orders: Orders) -> None:
    first, second = orders.created_id("FIRST"), orders.created_id("SECOND")

    # Each read twice: the first fills the cache, the second is served from it.
    reads = [orders.get(order_id).get_json() for order_id in (first, second, first, second)]

    assert [(read["id"], read["sku"]) for read in reads] == [
        (first, "FIRST"),
        (second, "SECOND"),
        (first, "FIRST"),
        (second, "SECOND"),
    ]


class ViewerByHeader:
    """A confinement that lets everyone see every order but names the viewer by a header, as
    one that keeps callers apart names each caller."""

    def narrowed(self, query: sa.Select[Order]) -> sa.Select[Order]:
        return query

    def viewer(self) -> str:
        return request.headers.get("X-Viewer", "")

    def event_fields(self) -> dict[str, str]:
        return {}


def test_a_document_cached_for_one_viewer_is_never_served_to_another(app: Flask) -> None:
    wiring.of(app).confinement = ViewerByHeader()
    client = app.test_client()
    order_id = Orders(client).created_id("FIRST")
    client.get(f"/orders/{order_id}", headers={"X-Viewer": "a"})
    change_sku_behind_the_service(app, order_id, "CHANGED")

    seen_by_a = client.get(f"/orders/{order_id}", headers={"X-Viewer": "a"}).get_json()
    seen_by_b = client.get(f"/orders/{order_id}", headers={"X-Viewer": "b"}).get_json()

    assert (seen_by_a["sku"], seen_by_b["sku"]) == ("FIRST", "CHANGED")


def test_cancel_invalidates_the_cached_order(
    orders: Orders, fake_redis: fakeredis.FakeRedis
) -> None:
    order_id = orders.created_id()
    orders.get(order_id)

    orders.cancel(order_id)

    assert not fake_redis.exists(OrderCache.key(order_id, orders.viewer))
    assert orders.get(order_id).get_json()["status"] == "cancelled"


def test_unknown_order_is_not_cached(orders: Orders, fake_redis: fakeredis.FakeRedis) -> None:
    response = orders.get(999)

    assert response.status_code == 404
    assert fake_redis.keys() == []


def test_an_unreadable_entry_is_replaced_by_the_database_copy(
    orders: Orders, fake_redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = orders.created_id("SOUND")
    fake_redis.set(OrderCache.key(order_id, orders.viewer), b"{cut short")

    with caplog.at_level(logging.WARNING):
        response = orders.get(order_id)

    assert response.status_code == 200
    assert response.get_json()["sku"] == "SOUND"
    assert cached(fake_redis, OrderCache.key(order_id, orders.viewer))["sku"] == "SOUND"
    assert warnings(caplog) == [
        f"unreadable cache entry for order {order_id}, read from the database"
    ]


def test_reads_come_from_the_database_when_redis_is_down(
    orders: Orders, fake_redis_server: fakeredis.FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = orders.created_id("STORED")
    fake_redis_server.connected = False

    with caplog.at_level(logging.WARNING):
        response = orders.get(order_id)

    assert response.status_code == 200
    assert response.get_json()["sku"] == "STORED"
    cause = connection_error(fake_redis_server)
    # What an operator reads: each failure, and why.
    assert warnings(caplog) == [
        f"cache read failed, reading from the database: {cause}",
        f"cache write failed: {cause}",
    ]


def test_cancel_succeeds_when_redis_is_down(
    orders: Orders, fake_redis_server: fakeredis.FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = orders.created_id()
    fake_redis_server.connected = False

    with caplog.at_level(logging.WARNING):
        response = orders.cancel(order_id)

    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert f"cache invalidation failed: {connection_error(fake_redis_server)}" in warnings(caplog)


def test_without_a_redis_url_reads_go_to_the_database(
    make_app: MakeApp, fake_redis: fakeredis.FakeRedis
) -> None:
    app = make_app(REDIS_URL=None)
    orders = Orders(app.test_client())
    order_id = orders.created_id("STORED")
    orders.get(order_id)
    change_sku_behind_the_service(app, order_id, "CHANGED")

    assert orders.get(order_id).get_json()["sku"] == "CHANGED"
    assert fake_redis.keys() == []


def test_creating_an_order_never_waits_on_the_cache(
    orders: Orders, fake_redis_server: fakeredis.FakeServer
) -> None:
    fake_redis_server.connected = False

    assert orders.create().status_code == 201


def test_readiness_stays_200_and_reports_the_cache_degraded_when_redis_is_down(
    orders: Orders, fake_redis_server: fakeredis.FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_redis_server.connected = False

    assert_degraded(orders.client, "cache")

    assert orders.client.get("/readyz").get_json()["checks"]["database"] == "embedded"
    assert "readiness: cache is failing: ConnectionError" in caplog.text


def test_without_a_redis_url_reads_go_to_the_database_and_readiness_says_so(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    orders = Orders(make_app(REDIS_URL=None).test_client())
    order = orders.created()

    assert orders.get(order["id"]).get_json() == order
    ready = orders.client.get("/readyz")
    assert (ready.status_code, ready.get_json()["checks"]["cache"]) == (200, "disabled")
    assert "FLASK_REDIS_URL is not set" in caplog.text


@each_unset_value
def test_the_production_configuration_refuses_to_start_without_a_redis_url(
    make_app: MakeApp, unset: str | None
) -> None:
    with pytest.raises(MissingSetting, match=r"^FLASK_REDIS_URL is not set: "):
        make_app(REDIS_URL=unset, EMBEDDED_DEFAULTS=False)


@each_of_two_turns
def test_each_test_finds_the_cache_empty_and_reachable(
    orders: Orders,
    fake_redis: fakeredis.FakeRedis,
    fake_redis_server: fakeredis.FakeServer,
    turn: str,
) -> None:
    assert fake_redis.keys() == []  # raises if the server is unreachable
    order_id = orders.created_id(turn)

    # Read through the cache, which keeps it for the next read of this id.
    assert orders.get(order_id).get_json()["sku"] == turn

    fake_redis_server.connected = False


@pytest.mark.parametrize("name", ["CACHE_TTL_SECONDS", "CACHE_SOCKET_TIMEOUT_SECONDS"])
@pytest.mark.parametrize("value", [0, -1, float("inf"), "abc", True])
def test_the_caches_durations_must_be_above_zero_or_the_start_stops(
    make_app: MakeApp, name: str, value: object
) -> None:
    # Else every entry would expire as it is written (a TTL of zero or less), or a cache that stops
    # answering would hold each read without a bound (a timeout of infinity).
    with pytest.raises(InvalidSetting, match=rf"^FLASK_{name} must be "):
        make_app(**{name: value})
