"""SQLite in the stack: a file on the service's volume, read with Python's sqlite3 inside the
service's own container (the image has no other client)."""

from __future__ import annotations

import pytest

from tests.e2e.stack import APP, Override, Query, Stack

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["database_override", "database_query"]

READ = (
    "import sqlite3, sys; "
    "rows = sqlite3.connect(sys.argv[1], timeout=5).execute(sys.argv[2]).fetchall(); "
    "print('\\n'.join('\\t'.join(str(v) for v in row) for row in rows))"
)


@pytest.fixture(scope="session")
def database_override() -> Override:
    """Nothing: the embedded database has no server for the service to wait on."""
    return {}


@pytest.fixture(scope="session")
def database_query(stack: Stack) -> Query:
    url = stack.config["services"][APP]["environment"]["FLASK_DATABASE_URL"]
    return lambda sql: stack.rows(APP, "python", "-c", READ, url.removeprefix("sqlite:///"), sql)
