"""What only the real database catches: its constraints, two connections
writing the same row, exact amounts, time zones, the order of pages, and the repository's queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from {{ cookiecutter.package_name }} import db, wiring
from {{ cookiecutter.package_name }}.models import CANCELLED, CREATED, Order, StatusChange
from tests.support.api import UNIT_PRICE, Orders
from tests.support.orders import (
    LARGEST_AMOUNT,
    assert_a_time_comes_back_as_the_same_instant,
    new_order,
    raw,
    store_orders,
    stored,
)

# Constraints


def test_an_idempotency_key_is_used_once(session: Session) -> None:
    session.add(new_order(idempotency_key="key-1"))
    session.flush()
    session.add(new_order(idempotency_key="key-1"))

    with pytest.raises(IntegrityError):
        session.flush()


def test_orders_without_an_idempotency_key_do_not_collide(session: Session) -> None:
    session.add_all([new_order(), new_order()])
    session.flush()

    keyless = session.scalar(
        sa.select(sa.func.count()).select_from(Order).where(Order.idempotency_key.is_(None))
    )
    assert keyless == 2


def test_a_status_change_needs_an_existing_order(session: Session) -> None:
    session.add(StatusChange(order_id=999_999_999, status=CREATED))

    with pytest.raises(IntegrityError):
        session.flush()


def test_deleting_an_order_deletes_its_history(session: Session, connection: sa.Connection) -> None:
    order = new_order()
    session.add(order)
    session.flush()

    session.execute(sa.delete(Order).where(Order.id == order.id))

    history = connection.execute(
        sa.text("SELECT count(*) FROM order_status_changes WHERE order_id = :id"), {"id": order.id}
    ).scalar_one()
    assert history == 0


def test_a_quantity_below_one_is_refused_by_the_database(session: Session) -> None:
    session.add(new_order(quantity=0))

    with pytest.raises(DBAPIError, match="ck_orders_quantity_positive"):
        session.flush()


# Exact amounts and time zones


def test_amounts_keep_every_cent_up_to_the_largest(
    session: Session, connection: sa.Connection
) -> None:
    order = stored(session, new_order(unit_price=LARGEST_AMOUNT, quantity=3))

    assert order.unit_price == LARGEST_AMOUNT
    assert order.total == Decimal("29999999999.97")
    assert Decimal(str(raw(connection, "unit_price", order.id))) == LARGEST_AMOUNT


def test_a_time_comes_back_as_the_same_instant_in_utc_to_the_microsecond(
    session: Session, connection: sa.Connection
) -> None:
    assert_a_time_comes_back_as_the_same_instant(session, connection)


# Two connections


def test_of_two_connections_updating_an_order_the_second_fails_and_the_first_is_kept(
    committing_engine: sa.Engine,
) -> None:
    with Session(committing_engine) as setup:
        order = new_order()
        setup.add(order)
        setup.commit()
        order_id = order.id

    with Session(committing_engine) as first, Session(committing_engine) as second:
        mine, theirs = first.get(Order, order_id), second.get(Order, order_id)
        assert mine is not None
        assert theirs is not None
        mine.change_status(CANCELLED)
        first.commit()
        theirs.sku = "SKU-2"
        with pytest.raises(StaleDataError):
            second.commit()

    with committing_engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT sku, status, version FROM orders WHERE id = :id"), {"id": order_id}
        ).one()
    assert tuple(row) == ("SKU-1", CANCELLED, 2)


def engine_of(app: Flask) -> sa.Engine:
    return db.DATABASE.of(app).engine


def test_a_create_that_loses_the_race_for_its_idempotency_key_returns_the_winner(
    committing_app: Flask, committing_engine: sa.Engine
) -> None:
    winner: list[int] = []
    stored_keys: list[str] = []

    def competitor_commits_first(
        _connection: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, *_: Any
    ) -> None:
        # Between the request's look-up of the key and its INSERT, another connection commits
        # an order with the same key: the same caller's twin request, recorded as the service
        # records a new order, with the key as the service stores it.
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS") and not winner:
            stored_keys.append(context.compiled_parameters[0]["idempotency_key"])
            with Session(committing_engine) as other:
                order = new_order(idempotency_key=stored_keys[0])
                other.add(order)
                other.flush()
                wiring.of(committing_app).recorded(other, order, CREATED)
                other.commit()
                winner.append(order.id)

    sa.event.listen(engine_of(committing_app), "before_cursor_execute", competitor_commits_first)
    response = Orders(committing_app.test_client()).create(key="race")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["id"] == winner[0]
    with committing_engine.connect() as connection:
        keyed = connection.execute(
            sa.select(sa.func.count()).where(Order.idempotency_key == stored_keys[0])
        ).scalar_one()
    assert keyed == 1


def test_a_cancel_that_loses_the_race_is_a_conflict_and_the_winner_is_kept(
    committing_app: Flask, committing_engine: sa.Engine
) -> None:
    orders = Orders(committing_app.test_client())
    order_id = orders.created()["id"]
    raced: list[bool] = []

    def competitor_commits_first(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Between the request's read of the order and its UPDATE, another connection cancels it.
        if statement.lstrip().upper().startswith("UPDATE ORDERS") and not raced:
            raced.append(True)
            with Session(committing_engine) as other:
                order = other.get(Order, order_id)
                assert order is not None
                order.change_status(CANCELLED)
                other.commit()

    sa.event.listen(engine_of(committing_app), "before_cursor_execute", competitor_commits_first)
    response = orders.cancel(order_id)

    assert response.status_code == 409, response.get_data(as_text=True)
    assert "changed meanwhile" in response.get_json()["detail"]
    history = [change["status"] for change in orders.get(order_id).get_json()["history"]]
    assert history == [CREATED, CANCELLED]


# The repository's queries, through the API


def test_an_order_is_stored_as_created_and_read_back_the_same(
    orders: Orders, connection: sa.Connection
) -> None:
    created = orders.created(sku="SKU-42", quantity=3)

    row = connection.execute(
        sa.text("SELECT sku, quantity, status, currency FROM orders WHERE id = :id"),
        {"id": created["id"]},
    ).one()
    assert tuple(row) == ("SKU-42", 3, CREATED, "EUR")
    assert Decimal(str(raw(connection, "unit_price", created["id"]))) == Decimal(UNIT_PRICE)
    assert orders.get(created["id"]).get_json() == created


def test_the_same_idempotency_key_returns_the_first_order(
    orders: Orders, connection: sa.Connection
) -> None:
    first = orders.create(key="key-1")
    second = orders.create(key="key-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    keyed = connection.execute(
        sa.text("SELECT count(*) FROM orders WHERE idempotency_key IS NOT NULL")
    ).scalar_one()
    assert keyed == 1


def test_an_unknown_order_is_a_404_problem(orders: Orders) -> None:
    response = orders.get(999_999_999)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "No order 999999999."


def test_a_cancelled_order_keeps_its_history_in_order_and_cannot_be_cancelled_again(
    orders: Orders,
) -> None:
    order_id = orders.created()["id"]

    cancelled = orders.cancel(order_id)
    again = orders.cancel(order_id)

    assert cancelled.status_code == 200
    history = cancelled.get_json()["history"]
    assert [change["status"] for change in history] == [CREATED, CANCELLED]
    assert history[0]["changed_at"] <= history[1]["changed_at"]
    assert again.status_code == 409
    assert orders.get(order_id).get_json()["history"] == history


def test_pages_follow_the_ids_without_gaps_or_repeats(orders: Orders) -> None:
    ids = sorted(store_orders(orders.client, 5))

    seen: list[int] = []
    pages = 0
    after = ids[0] - 1
    while after is not None:
        page = orders.page(limit=2, after=after).get_json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        after = page["next_after"]

    assert seen == ids
    assert pages == 3


def test_a_list_stays_in_id_order_after_an_update_moved_a_row(orders: Orders) -> None:
    ids = sorted(store_orders(orders.client, 3))
    # A server writes an updated row anew, after the others: a scan without ORDER BY now meets
    # the first order last.
    assert orders.cancel(ids[0]).status_code == 200

    listed = orders.page(limit=3, after=ids[0] - 1).get_json()["items"]

    assert [item["id"] for item in listed] == ids


# Ids: the API accepts any id up to 2**63 - 1 (schemas.MAX_ID), and so must every column.


@pytest.mark.parametrize("order_id", [2**31, 113_916_546_325, 2**63 - 1])
def test_an_id_beyond_32_bits_is_not_found_rather_than_failing(
    orders: Orders, order_id: int
) -> None:
    response = orders.get(order_id)

    assert response.status_code == 404, response.get_data(as_text=True)


def test_a_page_after_an_id_beyond_32_bits_is_empty(orders: Orders) -> None:
    response = orders.page(after=23_401_083_100)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"items": [], "next_after": None}


def test_an_order_with_an_id_beyond_32_bits_is_read_back(orders: Orders) -> None:
    store_orders(orders.client, 1, id=2**40)

    response = orders.get(2**40)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["history"][0]["status"] == CREATED
