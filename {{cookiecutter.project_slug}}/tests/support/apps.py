"""Helpers of the layers that build the app in process (unit, integration, contract)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }}.db import Money, UTCDateTime

from .problems import assert_problem

# A table of the shared column types, for tests of what they store and compile to.
TYPED_VALUES = sa.Table(
    "typed_values",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", Money()),
    sa.Column("at", UTCDateTime()),
)

# A setting without a value, each way a platform can leave one: unset (or JSON ``null``), empty,
# blank. The production configuration takes none of them for a value.
each_unset_value = pytest.mark.parametrize(
    "unset", [None, "", "  "], ids=["missing", "empty", "blank"]
)

# A test run twice: whichever run comes second would see what the first left behind (rows, cache
# entries, messages, an open circuit), were each test not isolated from the others.
each_of_two_turns = pytest.mark.parametrize("turn", ["one", "other"])

# ``make_app(**overrides)``: the layer's app, with settings of the test's own.
MakeApp = Callable[..., Flask]


def client_sending(headers: Mapping[str, str]) -> type[FlaskClient]:
    """A test client class whose requests carry ``headers`` (a caller's credentials) unless a
    request sets them itself."""
    environ = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}

    class CallerClient(FlaskClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.environ_base.update(environ)

    return CallerClient


def engine_of(app: Flask) -> sa.Engine:
    return db.DATABASE.of(app).engine


def count_rows(app: Flask, table: str) -> int:
    with engine_of(app).connect() as connection:
        count: int = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
    return count


def assert_degraded(client: FlaskClient, name: str) -> str:
    """Asserts /readyz stays 200 and reports ``name`` alone as degraded, as ``failing`` (why goes
    to the log, not to the prober); returns that state."""
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["degraded"] == [name]
    outcome: str = body["checks"][name]
    assert outcome == "failing"
    return outcome


def assert_invalid_field(app: Flask, client: FlaskClient, body: dict[str, Any], field: str) -> None:
    """Asserts ``POST /orders`` with ``body`` is a 422 naming ``field``, and stores nothing."""
    response = client.post("/orders", json=body)
    problem = assert_problem(response, 422)
    assert field in [error["field"] for error in problem["errors"]]
    assert count_rows(app, "orders") == 0
