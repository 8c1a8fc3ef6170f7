"""What only PostgreSQL itself can get wrong: a session time zone far from UTC; a migration that
runs longer than a request may; and the round trips no setting bounds, cut at their deadline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }}.dependencies import postgresql
from tests.fixtures.postgresql import DATABASE_SETTINGS
from tests.support.orders import assert_a_time_comes_back_as_the_same_instant
from tests.support.readiness import Outage


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
    assert_a_time_comes_back_as_the_same_instant(session, connection)


STATEMENT_TIMEOUT = DATABASE_SETTINGS["DATABASE_STATEMENT_TIMEOUT_SECONDS"]
CALL_TIMEOUT = DATABASE_SETTINGS["DATABASE_CALL_TIMEOUT_SECONDS"]


def test_a_migration_may_run_longer_than_a_request_may(app: Flask) -> None:
    # Longer than a request's statement may run, shorter than its round trip's deadline: the
    # server itself cancels it, keeping the connection.
    long_statement = sa.text(f"SELECT pg_sleep({(STATEMENT_TIMEOUT + CALL_TIMEOUT) / 2:g})")

    with app.app_context(), db.migration_engine() as engine, engine.connect() as connection:
        connection.execute(long_statement)
        with pytest.raises(sa.exc.OperationalError), db.database().engine.connect() as bounded:
            bounded.execute(long_statement)


# A round trip's deadline, and the watch's tick and a little more (a service waiting out its
# production deadline, postgresql.CALL_SECONDS, exceeds it).
ROUND_TRIP_BOUND = CALL_TIMEOUT + 0.5
assert ROUND_TRIP_BOUND < postgresql.CALL_SECONDS


@pytest.fixture
def transactions(database_url: str) -> Iterator[Callable[[], sa.Connection]]:
    """Connections of the service's own engine, each in a transaction (a statement run), with
    the tests' settings."""
    engine = db.Database(database_url, DATABASE_SETTINGS).engine
    opened: list[sa.Connection] = []

    def begin() -> sa.Connection:
        connection = engine.connect()
        connection.execute(sa.text("SELECT 1"))
        opened.append(connection)
        return connection

    yield begin
    for connection in opened:
        connection.close()
    engine.dispose()


def test_a_statement_commit_or_rollback_a_paused_server_never_answers_fails_within_its_deadline(
    transactions: Callable[[], sa.Connection], database_outage: Outage
) -> None:
    # The waits no setting bounds: the server's kernel acknowledges every packet, and nothing
    # answers. All at once, each on its connection; the server thaws before the threads are
    # joined, so that a call the service failed to bound ends with the test.
    statement, commit, rollback = transactions(), transactions(), transactions()
    calls: dict[str, Callable[[], object]] = {
        "statement": lambda: statement.execute(sa.text("SELECT 1")),
        "commit": commit.commit,
        "rollback": rollback.rollback,
    }

    with ThreadPoolExecutor(len(calls)) as pool, database_outage():
        futures = {name: pool.submit(call) for name, call in calls.items()}
        done, _ = wait(futures.values(), timeout=ROUND_TRIP_BOUND)
        late = [name for name, future in futures.items() if future not in done]

    assert late == [], f"still waiting after {ROUND_TRIP_BOUND} s"
    for name, future in futures.items():
        assert isinstance(future.exception(), db.UNAVAILABLE), (name, future.exception())
