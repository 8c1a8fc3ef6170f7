"""What only PostgreSQL itself can get wrong: a session time zone far from UTC."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.support.orders import new_order, stored

KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
def other_session_time_zone(connection: sa.Connection) -> Iterator[None]:
    """The database session's time zone set far from UTC: stored times must not depend on it."""
    connection.execute(sa.text("SET TIME ZONE 'America/Los_Angeles'"))
    yield
    connection.execute(sa.text("RESET TIME ZONE"))


@pytest.mark.usefixtures("other_session_time_zone")
def test_a_time_is_the_same_instant_whatever_the_session_time_zone(
    session: Session, connection: sa.Connection
) -> None:
    written = dt.datetime(2024, 3, 31, 2, 30, 15, 123456, tzinfo=KOLKATA)

    order = stored(session, new_order(created_at=written))

    assert order.created_at == written
    in_database = connection.execute(
        sa.text("SELECT created_at FROM orders WHERE id = :id"), {"id": order.id}
    ).scalar_one()
    assert in_database == dt.datetime(2024, 3, 30, 21, 0, 15, 123456)  # naive UTC
