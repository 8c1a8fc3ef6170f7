"""Column types that mean the same on every backend, migrations that make what the models say, and
readiness that waits for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from {{ cookiecutter.package_name }} import create_app, db, wiring
from {{ cookiecutter.package_name }}.db import Base
from tests.support.apps import TYPED_VALUES, MakeApp, count_rows, engine_of


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    TYPED_VALUES.metadata.create_all(engine)
    yield engine
    engine.dispose()


class Stored(NamedTuple):
    amount: Decimal | None
    at: dt.datetime | None


def stored(engine: sa.Engine, **values: object) -> Stored:
    """Writes one row and reads it back, converted by the column types."""
    with engine.begin() as connection:
        connection.execute(TYPED_VALUES.insert().values(id=1, **values))
        return Stored(
            *connection.execute(sa.select(TYPED_VALUES.c.amount, TYPED_VALUES.c.at)).one()
        )


def raw(engine: sa.Engine, column: str) -> object:
    """What the database itself holds, with no type conversion."""
    with engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT {column} FROM typed_values")).scalar_one()  # noqa: S608


def test_money_is_exact_to_the_cent(engine: sa.Engine) -> None:
    row = stored(engine, amount=Decimal("0.1") + Decimal("0.2"))

    assert row.amount == Decimal("0.30")
    assert str(row.amount) == "0.30"


def test_money_is_kept_as_text_on_sqlite(engine: sa.Engine) -> None:
    stored(engine, amount=Decimal("12.5"))

    assert raw(engine, "amount") == "12.50"


def test_money_is_rounded_to_the_cent(engine: sa.Engine) -> None:
    assert stored(engine, amount=Decimal("2.675")).amount == Decimal("2.68")


def test_utc_datetime_comes_back_aware_and_in_utc(engine: sa.Engine) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    written = dt.datetime(2024, 6, 1, 12, 30, tzinfo=paris)

    read = stored(engine, at=written).at

    assert read == written
    assert read.tzinfo is dt.UTC
    assert read.hour == 10


def test_utc_datetime_is_stored_as_naive_utc(engine: sa.Engine) -> None:
    stored(engine, at=dt.datetime(2024, 6, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))))

    assert str(raw(engine, "at")).startswith("2024-06-01 10:30:00")


def test_utc_datetime_refuses_a_naive_datetime(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetimes are ambiguous"):
        stored(engine, at=dt.datetime(2024, 6, 1, 12, 30))


def test_null_money_and_datetime_stay_null(engine: sa.Engine) -> None:
    row = stored(engine, amount=None, at=None)

    assert (row.amount, row.at) == (None, None)


def _drift(engine: sa.Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences: list[Any] = compare_metadata(context, Base.metadata)
    return differences


def test_migrations_to_head_make_exactly_the_models(make_app: MakeApp) -> None:
    engine = engine_of(make_app(schema=False))

    db.upgrade(engine)

    assert _drift(engine) == []


def test_drift_between_models_and_migrations_would_be_seen(make_app: MakeApp) -> None:
    engine = engine_of(make_app(schema=False))
    db.upgrade(engine)

    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE orders ADD COLUMN added_by_hand VARCHAR(10)"))

    assert [difference[0] for difference in _drift(engine)] == ["remove_column"]


def test_migrations_downgrade_to_nothing_and_upgrade_again(make_app: MakeApp) -> None:
    engine = engine_of(make_app(schema=False))
    db.upgrade(engine)

    db.downgrade(engine, "base")
    emptied = set(sa.inspect(engine).get_table_names())
    db.upgrade(engine)

    assert emptied == {"alembic_version"}
    assert _drift(engine) == []


def test_a_database_without_the_schema_is_not_ready_until_migrated(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(schema=False)

    unmigrated = app.test_client().get("/readyz")
    db.upgrade(engine_of(app))
    migrated = app.test_client().get("/readyz")

    assert unmigrated.status_code == 503, unmigrated.get_json()
    assert unmigrated.get_json()["checks"]["database"] == "failing"
    assert "this code needs revision" in caplog.text
    assert "flask db upgrade" in caplog.text
    assert migrated.status_code == 200, migrated.get_json()


def test_a_schema_newer_than_the_code_is_ready(make_app: MakeApp) -> None:
    # Migrated ahead of a rolling update: the running code works with the newer schema.
    app = make_app()
    with engine_of(app).begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'a_newer_one'"))

    answer = app.test_client().get("/readyz")

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["checks"]["database"] == "embedded"


def test_db_upgrade_command_makes_the_schema(make_app: MakeApp) -> None:
    app = make_app(schema=False)

    with app.app_context():  # as the flask command pushes one
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert set(sa.inspect(engine_of(app)).get_table_names()) >= set(Base.metadata.tables)


def test_processes_starting_together_migrate_the_embedded_file_once(tmp_path: Path) -> None:
    # As a demo container's workers do: each finds no schema, only one may make it.
    def start(_: int) -> Flask:
        return create_app({"TESTING": True}, instance_path=str(tmp_path))

    with ThreadPoolExecutor(max_workers=4) as starting:
        apps = list(starting.map(start, range(4)))
    try:
        assert [count_rows(app, "orders") for app in apps] == [0] * 4
    finally:
        for app in apps:
            wiring.close(app)
