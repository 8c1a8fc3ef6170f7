"""What only MariaDB itself can get wrong: a session time zone far from UTC; and a migration that
runs longer than a request may."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from {{ cookiecutter.package_name }} import db
from tests.fixtures.mariadb import DATABASE_SETTINGS
from tests.support.orders import assert_a_time_comes_back_as_the_same_instant

STATEMENT_TIMEOUT = DATABASE_SETTINGS["DATABASE_STATEMENT_TIMEOUT_SECONDS"]
CALL_TIMEOUT = DATABASE_SETTINGS["DATABASE_CALL_TIMEOUT_SECONDS"]


@pytest.fixture
def other_session_time_zone(connection: sa.Connection) -> Iterator[None]:
    """The database session's time zone set far from UTC: stored times must not depend on it."""
    connection.execute(sa.text("SET time_zone = '-08:00'"))
    yield
    connection.execute(sa.text("SET time_zone = DEFAULT"))


@pytest.mark.usefixtures("other_session_time_zone")
def test_a_time_is_the_same_instant_whatever_the_session_time_zone(
    session: Session, connection: sa.Connection
) -> None:
    assert_a_time_comes_back_as_the_same_instant(session, connection)


def test_a_migration_may_run_longer_than_a_request_may(app: Flask) -> None:
    # Longer than a request's statement may run, shorter than its reads' deadline: the server
    # itself stops it.
    long_statement = sa.text(f"SELECT SLEEP({(STATEMENT_TIMEOUT + CALL_TIMEOUT) / 2:g})")

    with app.app_context(), db.migration_engine() as engine, engine.connect() as connection:
        connection.execute(long_statement)
        with pytest.raises(sa.exc.OperationalError), db.database().engine.connect() as bounded:
            bounded.execute(long_statement)
