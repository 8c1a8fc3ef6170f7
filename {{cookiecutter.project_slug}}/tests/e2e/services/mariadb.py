"""MariaDB in the stack: what was stored, read with the ``mariadb`` client inside its container."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Query, Stack

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["database_query", "database_service"]

SERVICE = "mariadb"


@pytest.fixture(scope="session")
def database_service() -> str:
    return SERVICE


@pytest.fixture(scope="session")
def database_query(stack: Stack) -> Query:
    password = stack.config["services"][SERVICE]["environment"]["MARIADB_PASSWORD"]
    client = ["mariadb", "-uorders", f"-p{password}", "orders", "-N", "-B", "-e"]
    return lambda sql: stack.rows(SERVICE, *client, sql)
