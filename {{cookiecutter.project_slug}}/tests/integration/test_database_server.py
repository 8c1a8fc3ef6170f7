"""What a database server catches that SQLite (text amounts) cannot: amounts in an exact numeric
column, refused beyond it and added up exactly by the server; ids beyond 32 bits; a list that
keeps its order when the server keeps the rows in another; and a server that hangs."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from {{ cookiecutter.package_name }}.db import Base
from {{ cookiecutter.package_name }}.models import Order
from tests.support.api import Orders, order_body
from tests.support.orders import LARGEST_AMOUNT, new_order
from tests.support.readiness import Outage


def test_an_amount_beyond_the_column_is_refused(session: Session) -> None:
    session.add(new_order(unit_price=LARGEST_AMOUNT + Decimal("0.01")))

    with pytest.raises(DBAPIError):
        session.flush()


def test_the_database_adds_amounts_exactly(session: Session, connection: sa.Connection) -> None:
    orders = [new_order(unit_price=Decimal("0.10")) for _ in range(3)]
    session.add_all(orders)
    session.flush()

    total = connection.execute(
        sa.select(sa.func.sum(Order.unit_price)).where(Order.id.in_([o.id for o in orders]))
    ).scalar_one()

    assert total == Decimal("0.30")


def test_every_id_column_holds_64_bits(connection: sa.Connection) -> None:
    inspector = sa.inspect(connection)
    id_columns = {
        f"{table}.{column['name']}": column["type"]
        for table in inspector.get_table_names()
        for column in inspector.get_columns(table)
        if column["name"] == "id" or column["name"].endswith("_id")
    }
    integer_ids = {name: kind for name, kind in id_columns.items() if isinstance(kind, sa.Integer)}

    assert "orders.id" in integer_ids
    kinds = {name: type(kind).__name__ for name, kind in integer_ids.items()}
    assert kinds == dict.fromkeys(integer_ids, "BIGINT")


def test_ids_beyond_32_bits_are_handed_out_and_read_back(
    committing_app: Flask, committing_engine: sa.Engine, ids_from: Callable[[int], None]
) -> None:
    ids_from(2**31)
    client = committing_app.test_client()

    created = client.post("/orders", json=order_body())

    assert created.status_code == 201, created.get_data(as_text=True)
    order = created.get_json()
    assert order["id"] >= 2**31
    assert client.get(f"/orders/{order['id']}").get_json() == order
    with committing_engine.connect() as connection:
        largest = {
            table.name: connection.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
            for table in Base.metadata.sorted_tables
            if "id" in table.c
        }
    assert {name: n for name, n in largest.items() if n is None or n < 2**31} == {}, largest


def written_anew(connection: sa.Connection, order_ids: list[int]) -> None:
    """Deletes and inserts again, unchanged, every row of another table that belongs to these
    orders (their owners, their status changes): a query that reaches orders through such a
    table (by owner, say) then finds these after the others unless it orders them."""
    for table in Base.metadata.sorted_tables:
        order_id = table.c.get("order_id")
        if order_id is None:
            continue
        belonging = order_id.in_(order_ids)
        found = connection.execute(sa.select(table).where(belonging)).mappings()
        rows = [dict(row) for row in found]
        connection.execute(table.delete().where(belonging))
        if rows:
            connection.execute(table.insert(), rows)


def test_orders_are_listed_and_paged_in_id_order_when_the_server_keeps_them_otherwise(
    orders: Orders, connection: sa.Connection
) -> None:
    ids = [orders.created_id() for _ in range(6)]
    # A server may write a changed row's new version after the others, and a scan returns it
    # there: the first orders, changed, come last, whichever table the list goes through.
    for order_id in ids[:3]:
        assert orders.cancel(order_id).status_code == 200
    written_anew(connection, ids[:3])

    listed = [order["id"] for order in orders.page().get_json()["items"]]
    paged: list[int] = []
    after: int | None = 0
    while after is not None:
        page = orders.page(after=after, limit=2).get_json()
        paged += [order["id"] for order in page["items"]]
        after = page["next_after"]

    assert listed == ids
    assert paged == ids


# What a client sees when the server stops answering: a 503 problem within the service's bound
# (every round trip of the driver is bounded by the server's own module, as the settings the
# tests give it say: ``hung_database_seconds``), then service as usual. The margin is for a
# loaded machine; a service waiting out its production bounds exceeds it.
MARGIN_SECONDS = 0.75


def timed(call: Callable[[], TestResponse]) -> tuple[TestResponse, float]:
    began = time.perf_counter()
    response = call()
    return response, time.perf_counter() - began


def test_a_hung_server_is_a_503_problem_within_the_bound_and_then_recovers(
    committing_app: Flask, database_outage: Outage, hung_database_seconds: float
) -> None:
    client = committing_app.test_client()
    assert client.get("/orders").status_code == 200  # the pool now holds a connection
    # At once, each on a client of its own: one waits on the pooled connection, the others on new
    # ones, and none of them may wait for another. The server thaws before the threads are
    # joined, so that a call the service failed to bound ends with the test, not minutes later.
    calls: list[Callable[[], TestResponse]] = [
        lambda: committing_app.test_client().get("/orders/1"),
        lambda: committing_app.test_client().get("/orders"),
        lambda: committing_app.test_client().post("/orders", json=order_body()),
    ]

    with ThreadPoolExecutor(len(calls)) as pool, database_outage():
        answers = list(pool.map(timed, calls))

    for response, took in answers:
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert took < hung_database_seconds + MARGIN_SECONDS
    assert client.post("/orders", json=order_body()).status_code == 201
