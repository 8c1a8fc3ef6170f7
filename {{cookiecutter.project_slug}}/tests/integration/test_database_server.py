"""What a database server catches that SQLite (text amounts) cannot: amounts in an exact numeric
column, refused beyond it and added up exactly by the server."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from {{ cookiecutter.package_name }}.models import Order

from .test_database import LARGEST_AMOUNT, new_order


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
