"""PostgreSQL in the stack: what was stored, read with ``psql`` inside its container."""

from __future__ import annotations

import pytest

from tests.e2e.stack import APP, Override, Query, Stack

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["database_override", "database_query", "database_service", "database_settings"]

SERVICE = "postgres"
# The service's bounds on the database, short: a round trip to a hung server is cut within a
# second, so that an outage need last only a few of them. Not half a second: a round trip's time
# includes its thread's wait for the interpreter, and on a loaded two-core runner, bounded at half a
# second, a create among twenty slow ones was answered 503 with nothing down.
DATABASE_SETTINGS: dict[str, float] = {
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": 0.5,
    "DATABASE_CALL_TIMEOUT_SECONDS": 0.8,
}


@pytest.fixture(scope="session")
def database_override() -> Override:
    return {APP: {"environment": {f"FLASK_{k}": str(v) for k, v in DATABASE_SETTINGS.items()}}}


@pytest.fixture(scope="session")
def database_settings() -> dict[str, float]:
    return dict(DATABASE_SETTINGS)


@pytest.fixture(scope="session")
def database_service() -> str:
    return SERVICE


@pytest.fixture(scope="session")
def database_query(stack: Stack) -> Query:
    psql = ["psql", "-U", "orders", "-d", "orders", "-At", "-F", "\t", "-c"]
    return lambda sql: stack.rows(SERVICE, *psql, sql)
