"""One way to build an order, for every test that stores orders without the API: the unit and
integration layers' database tests and the contract layer's provider states.

A plain function: an order has four fields a test may vary, which a factory library would not
shorten.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from {{ cookiecutter.package_name }} import db, wiring
from {{ cookiecutter.package_name }}.models import CREATED, Order

from .api import CURRENCY, UNIT_PRICE

# The largest amount a server stores: NUMERIC(12, 2).
LARGEST_AMOUNT = Decimal("9999999999.99")
KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))


def new_order(**values: Any) -> Order:
    """A new order (not yet stored) with its ``created`` status change; ``values`` override the
    defaults: one SKU-1 at ``api.UNIT_PRICE``."""
    fields = {
        "sku": "SKU-1",
        "quantity": 1,
        "unit_price": Decimal(UNIT_PRICE),
        "currency": CURRENCY,
    }
    order = Order(**{**fields, **values})
    order.change_status(CREATED)
    return order


def store_orders(client: FlaskClient, count: int, **values: Any) -> list[int]:
    """Stores ``count`` orders through the app's own session, as if the client's caller had
    created them: what the app records with a new order (``Wiring.recorded``) is
    stored with them. Returns their ids in order."""
    app = client.application
    with app.test_request_context("/orders", environ_base=client.environ_base):
        app.preprocess_request()
        session = db.session()
        orders = [new_order(**values) for _ in range(count)]
        session.add_all(orders)
        session.flush()
        for order in orders:
            wiring.of(app).recorded(session, order, CREATED)
        session.commit()
        return [order.id for order in orders]


def stored(session: Session, order: Order) -> Order:
    """Writes the order, forgets it, and reads it back from the database."""
    session.add(order)
    session.flush()
    order_id = order.id
    session.expunge_all()
    found = session.get(Order, order_id)
    assert found is not None
    return found


def raw(connection: sa.Connection, column: str, order_id: int) -> Any:
    """What the database itself holds, without the column type's conversion."""
    query = sa.text(f"SELECT {column} FROM orders WHERE id = :id")  # noqa: S608
    return connection.execute(query, {"id": order_id}).scalar_one()


def assert_a_time_comes_back_as_the_same_instant(
    session: Session, connection: sa.Connection
) -> None:
    """A time written in another zone is read back as the same instant, in UTC, to the
    microsecond, and the database holds it as naive UTC."""
    written = dt.datetime(2024, 3, 31, 2, 30, 15, 123456, tzinfo=KOLKATA)

    order = stored(session, new_order(created_at=written))

    assert order.created_at == written
    assert order.created_at.utcoffset() == dt.timedelta(0)
    assert order.created_at.microsecond == 123456
    in_database = raw(connection, "created_at", order.id)
    if isinstance(in_database, str):  # SQLite keeps text
        in_database = dt.datetime.fromisoformat(in_database)
    assert in_database == dt.datetime(2024, 3, 30, 21, 0, 15, 123456)  # naive UTC
