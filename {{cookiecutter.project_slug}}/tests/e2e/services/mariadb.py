"""MariaDB in the stack: what was stored, read with the ``mariadb`` client inside its container."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Query, Stack

SERVICE = "mariadb"


@pytest.fixture(scope="session")
def database_service() -> str:
    return SERVICE


@pytest.fixture(scope="session")
def database_query(stack: Stack) -> Query:
    """Rows of a query, each a list of its columns as text."""

    password = stack.environment(SERVICE)["MARIADB_PASSWORD"]

    def query(sql: str) -> list[list[str]]:
        out = stack.exec(
            SERVICE, "mariadb", "-uorders", f"-p{password}", "orders", "-N", "-B", "-e", sql
        )
        return [line.split("\t") for line in out.splitlines() if line]

    return query
