"""The orders resource: create, read, list a page at a time, cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from {{ cookiecutter.package_name }} import wiring
from {{ cookiecutter.package_name }}.models import CREATED, Order
from tests.support.api import Orders, order_body
from tests.support.apps import MakeApp, assert_invalid_field, count_rows, engine_of
from tests.support.orders import new_order, store_orders


@contextmanager
def listening(target: Any, event: str, listener: Callable[..., None]) -> Iterator[None]:
    sa.event.listen(target, event, listener)
    try:
        yield
    finally:
        sa.event.remove(target, event, listener)


def test_create_answers_201_with_the_order_and_its_location(app: Flask, orders: Orders) -> None:
    response = orders.create("SKU-1", 2)

    assert response.status_code == 201
    order = response.get_json()
    assert response.headers["Location"] == f"/orders/{order['id']}"
    assert order["sku"] == "SKU-1"
    assert order["quantity"] == 2
    assert (order["unit_price"], order["total"], order["currency"]) == ("12.50", "25.00", "EUR")
    assert order["status"] == "created"
    assert [change["status"] for change in order["history"]] == ["created"]
    assert order["created_at"].endswith("+00:00")
    assert count_rows(app, "orders") == 1


def test_created_order_is_read_back_unchanged(orders: Orders) -> None:
    created = orders.create().get_json()

    response = orders.get(created["id"])

    assert response.status_code == 200
    assert response.get_json() == created


@pytest.mark.parametrize(
    ("sku", "quantity"), [("A", 1), ("S" * 64, 1000), ("sku_1.b-2", 7)], ids=str
)
def test_create_accepts_the_boundaries(orders: Orders, sku: str, quantity: int) -> None:
    response = orders.create(sku, quantity)

    assert response.status_code == 201
    assert (response.get_json()["sku"], response.get_json()["quantity"]) == (sku, quantity)


def test_create_takes_a_quantity_without_a_fraction_as_the_integer_it_is(
    client: FlaskClient,
) -> None:
    # JSON Schema (and so the OpenAPI document) calls 29.0 an integer.
    response = client.post("/orders", json={**order_body(), "quantity": 29.0})

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["quantity"] == 29


INVALID_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("empty object", {}, "sku"),
    ("no quantity", {"sku": "SKU-1"}, "quantity"),
    ("empty sku", order_body(sku=""), "sku"),
    ("sku with a space", order_body(sku="SKU 1"), "sku"),
    ("sku starting with a dash", order_body(sku="-SKU"), "sku"),
    ("sku too long", order_body(sku="S" * 65), "sku"),
    ("sku a number", {**order_body(), "sku": 123}, "sku"),
    ("sku null", {**order_body(), "sku": None}, "sku"),
    ("quantity zero", order_body(quantity=0), "quantity"),
    ("quantity too large", order_body(quantity=1001), "quantity"),
    ("quantity a string", {**order_body(), "quantity": "2"}, "quantity"),
    ("quantity a fraction", {**order_body(), "quantity": 2.5}, "quantity"),
    ("quantity a boolean", {**order_body(), "quantity": True}, "quantity"),
    ("unknown field", {**order_body(), "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [pytest.param(body, field, id=name) for name, body, field in INVALID_BODIES],
)
def test_create_rejects_invalid_fields_with_422_naming_them(
    app: Flask, client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    assert_invalid_field(app, client, body, field)


def test_retried_create_with_the_same_key_returns_the_first_order(
    app: Flask, orders: Orders
) -> None:
    first = orders.create(key="retry-me")
    again = orders.create(key="retry-me")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert count_rows(app, "orders") == 1


@pytest.mark.parametrize("length", [1, 64], ids=["shortest", "longest"])
def test_a_key_of_any_allowed_length_is_kept(orders: Orders, length: int) -> None:
    key = "k" * length

    first, again = orders.create(key=key), orders.create(key=key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]


def test_creates_with_different_keys_make_different_orders(app: Flask, orders: Orders) -> None:
    first = orders.create(key="one").get_json()
    second = orders.create(key="two").get_json()

    assert first["id"] != second["id"]
    assert count_rows(app, "orders") == 2


def test_create_that_loses_a_race_on_its_key_returns_the_winner(
    make_app: MakeApp, tmp_path: Path
) -> None:
    # A file database, so that the twin request commits on a connection of its own.
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    engine = engine_of(app)

    twins: list[Order] = []

    def twin_commits_first(_mapper: Any, _connection: Any, order: Order) -> None:
        # The twin: the same caller's request with the same key, on a connection of its own.
        if twins:
            return  # the twin's own insert
        twins.append(order)
        with Session(engine) as other:
            twin = new_order(sku="TWIN", idempotency_key=order.idempotency_key)
            other.add(twin)
            other.flush()
            wiring.of(app).recorded(other, twin, CREATED)
            other.commit()

    with listening(Order, "before_insert", twin_commits_first):
        response = Orders(app.test_client()).create(key="raced")

    assert response.status_code == 200
    assert response.get_json()["sku"] == "TWIN"
    assert count_rows(app, "orders") == 1


def test_list_walks_every_order_a_page_at_a_time(client: FlaskClient) -> None:
    created = store_orders(client, 5)
    seen: list[int] = []
    sizes: list[int] = []
    after = 0

    while True:
        page = client.get(f"/orders?limit=2&after={after}").get_json()
        seen += [order["id"] for order in page["items"]]
        sizes.append(len(page["items"]))
        if page["next_after"] is None:
            break
        after = page["next_after"]

    assert seen == created
    assert sizes == [2, 2, 1]


def test_list_ends_with_an_empty_page_when_the_last_one_is_full(client: FlaskClient) -> None:
    last = store_orders(client, 2)[-1]

    full = client.get("/orders?limit=2").get_json()
    after_full = client.get(f"/orders?limit=2&after={full['next_after']}").get_json()

    assert full["next_after"] == last
    assert after_full == {"items": [], "next_after": None}


def test_list_defaults_to_pages_of_twenty(client: FlaskClient) -> None:
    created = store_orders(client, 21)

    page = client.get("/orders").get_json()

    assert [order["id"] for order in page["items"]] == created[:20]
    assert page["next_after"] == created[19]


def test_list_of_no_orders_is_empty(client: FlaskClient) -> None:
    response = client.get("/orders")

    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_after": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("after=-1", "after"),
        ("after=x", "after"),
        (f"after={2**63}", "after"),
        ("page=2", "page"),
    ],
)
def test_list_rejects_an_invalid_query_with_422(
    client: FlaskClient, query: str, field: str
) -> None:
    response = client.get(f"/orders?{query}")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [error["field"] for error in response.get_json()["errors"]] == [field]


def test_cancel_answers_200_with_the_cancelled_order(app: Flask, orders: Orders) -> None:
    order_id = orders.created_id()

    response = orders.cancel(order_id)

    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert [change["status"] for change in response.get_json()["history"]] == [
        "created",
        "cancelled",
    ]
    assert orders.get(order_id).get_json()["status"] == "cancelled"


def test_second_cancel_is_a_409_conflict_and_changes_nothing(orders: Orders) -> None:
    order_id = orders.created_id()
    orders.cancel(order_id)

    response = orders.cancel(order_id)

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "already cancelled" in response.get_json()["detail"]
    assert len(orders.get(order_id).get_json()["history"]) == 2


def test_cancel_racing_a_concurrent_change_is_a_409_and_a_retry_succeeds(
    app: Flask, orders: Orders
) -> None:
    order_id = orders.created_id()

    def someone_else_changes_it(_mapper: Any, connection: sa.Connection, order: Order) -> None:
        connection.execute(
            sa.update(Order).where(Order.id == order.id).values(version=Order.version + 1)
        )

    with listening(Order, "before_update", someone_else_changes_it):
        conflict = orders.cancel(order_id)
    retry = orders.cancel(order_id)

    assert conflict.status_code == 409
    assert conflict.mimetype == "application/problem+json"
    assert "changed meanwhile" in conflict.get_json()["detail"]
    assert retry.status_code == 200
    assert retry.get_json()["status"] == "cancelled"
