"""PostgreSQL in the stack: what was stored, read with ``psql`` inside its container."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Query, Stack

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["database_query", "database_service"]

SERVICE = "postgres"


@pytest.fixture(scope="session")
def database_service() -> str:
    return SERVICE


@pytest.fixture(scope="session")
def database_query(stack: Stack) -> Query:
    psql = ["psql", "-U", "orders", "-d", "orders", "-At", "-F", "\t", "-c"]
    return lambda sql: stack.rows(SERVICE, *psql, sql)
