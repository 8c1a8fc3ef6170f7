"""What the shared column types become on MariaDB, compiled for its dialect (no server)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from {{ cookiecutter.package_name }}.db import Money
from tests.support.apps import TYPED_VALUES


def test_money_is_numeric_12_2_and_the_time_keeps_microseconds() -> None:
    # A mock engine has the dialect and no driver or server.
    dialect = sa.create_mock_engine("mariadb+pymysql://", executor=lambda *_: None).dialect

    compiled = str(sa.schema.CreateTable(TYPED_VALUES).compile(dialect=dialect))

    assert "amount NUMERIC(12, 2)" in compiled
    assert "at DATETIME(6)" in compiled  # microseconds kept
    assert Money().process_bind_param(Decimal("1.5"), dialect) == Decimal("1.50")
