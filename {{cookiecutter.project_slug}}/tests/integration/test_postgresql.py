"""What only PostgreSQL itself can get wrong: a session time zone far from UTC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import test_database as shared


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
    shared.test_a_time_comes_back_as_the_same_instant_in_utc_to_the_microsecond(session, connection)
