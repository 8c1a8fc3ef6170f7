"""What the shared column types become on PostgreSQL, compiled for its dialect, and the bounds the
engine is given, as libpq reads them (no server)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from {{ cookiecutter.package_name }}.config import InvalidSetting
from {{ cookiecutter.package_name }}.db import Money
from {{ cookiecutter.package_name }}.dependencies import postgresql
from tests.support.apps import TYPED_VALUES


def test_money_is_numeric_12_2() -> None:
    # A mock engine has the dialect and no driver or server.
    dialect = sa.create_mock_engine("postgresql+psycopg://", executor=lambda *_: None).dialect

    compiled = str(sa.schema.CreateTable(TYPED_VALUES).compile(dialect=dialect))

    assert "amount NUMERIC(12, 2)" in compiled
    assert Money().process_bind_param(Decimal("1.5"), dialect) == Decimal("1.50")


def as_libpq_reads_them(options: dict[str, Any]) -> dict[str, Any]:
    """An engine's connect arguments parsed by libpq, which refuses an option it does not know."""
    return psycopg.conninfo.conninfo_to_dict(
        psycopg.conninfo.make_conninfo("", **options["connect_args"])
    )


def test_requests_and_migrations_connect_within_the_connect_timeout() -> None:
    for options in (postgresql.ENGINE_OPTIONS, postgresql.MIGRATION_OPTIONS):
        assert as_libpq_reads_them(options)["connect_timeout"] == str(postgresql.CONNECT_SECONDS)


def test_a_server_that_answers_cancels_a_slow_statement_before_its_round_trip_is_cut() -> None:
    # Cancelled, the statement fails and the connection is kept; cut, the connection is lost.
    options = as_libpq_reads_them(postgresql.ENGINE_OPTIONS)["options"]
    server = dict(setting.split("=") for setting in options.split()[1::2])  # -c name=value

    assert int(server["statement_timeout"]) / 1000 < postgresql.CALL_SECONDS


@pytest.mark.parametrize("call", [0.3, 0.2])
def test_a_round_trip_bound_not_above_the_statement_bound_stops_the_start(call: float) -> None:
    # Else a slow statement would cost the connection rather than be stopped by the server.
    settings = {"DATABASE_STATEMENT_TIMEOUT_SECONDS": 0.3, "DATABASE_CALL_TIMEOUT_SECONDS": call}

    with pytest.raises(InvalidSetting, match=r"^FLASK_DATABASE_CALL_TIMEOUT_SECONDS must be above"):
        postgresql.engine_options(settings)
