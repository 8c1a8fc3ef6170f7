"""SQLite in the stack: a file on the service's volume, read with Python's sqlite3 inside the
service's own container (the image has no other client)."""

from __future__ import annotations

import pytest

from tests.e2e.stack import APP, Query, Stack

READ = (
    "import sqlite3, sys; "
    "rows = sqlite3.connect(sys.argv[1], timeout=5).execute(sys.argv[2]).fetchall(); "
    "print('\\n'.join('\\t'.join(str(v) for v in row) for row in rows))"
)


@pytest.fixture(scope="session")
def database_query(stack: Stack) -> Query:
    """Rows of a query, each a list of its columns as text."""
    path = stack.environment(APP)["FLASK_DATABASE_URL"].removeprefix("sqlite:///")

    def query(sql: str) -> list[list[str]]:
        out = stack.exec(APP, "python", "-c", READ, path, sql)
        return [line.split("\t") for line in out.splitlines() if line]

    return query
