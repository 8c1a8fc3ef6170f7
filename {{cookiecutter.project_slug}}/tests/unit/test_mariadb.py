"""What the shared column types become on MariaDB, compiled for its dialect (no server)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from {{ cookiecutter.package_name }}.config import InvalidSetting
from {{ cookiecutter.package_name }}.db import Money
from {{ cookiecutter.package_name }}.dependencies import mariadb
from tests.support.apps import TYPED_VALUES


def test_money_is_numeric_12_2_and_the_time_keeps_microseconds() -> None:
    # A mock engine has the dialect and no driver or server.
    dialect = sa.create_mock_engine("mariadb+pymysql://", executor=lambda *_: None).dialect

    compiled = str(sa.schema.CreateTable(TYPED_VALUES).compile(dialect=dialect))

    assert "amount NUMERIC(12, 2)" in compiled
    assert "at DATETIME(6)" in compiled  # microseconds kept
    assert Money().process_bind_param(Decimal("1.5"), dialect) == Decimal("1.50")


@pytest.mark.parametrize("call", [0.3, 0.2])
def test_a_round_trip_bound_not_above_the_statement_bound_stops_the_start(call: float) -> None:
    # Else a slow statement would cost the connection rather than be stopped by the server.
    settings = {"DATABASE_STATEMENT_TIMEOUT_SECONDS": 0.3, "DATABASE_CALL_TIMEOUT_SECONDS": call}

    with pytest.raises(InvalidSetting, match=r"^FLASK_DATABASE_CALL_TIMEOUT_SECONDS must be above"):
        mariadb.engine_options(settings)
