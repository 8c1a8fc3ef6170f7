"""The schema is made by the Alembic migrations, on the real database engine."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from {{ cookiecutter.package_name }} import DEPENDENCIES, db
from {{ cookiecutter.package_name }}.db import Base
from tests.fixtures.database import Migrations

# Every table of the models, those of the dependencies the app factory wires included.
assert DEPENDENCIES
TABLES = {"alembic_version", "orders", "order_status_changes", *Base.metadata.tables}


def test_upgrade_to_head_makes_every_table(migrations: Migrations) -> None:
    assert migrations.tables_after_upgrade == TABLES


def test_downgrade_to_base_removes_every_table_it_made(migrations: Migrations) -> None:
    assert migrations.tables_after_downgrade == {"alembic_version"}


def test_the_schema_is_at_the_latest_revision(connection: sa.Connection) -> None:
    head = ScriptDirectory(str(db.MIGRATIONS)).get_current_head()

    versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()

    assert list(versions) == [head]


def test_the_migrated_schema_is_what_the_models_say(connection: sa.Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})

    assert compare_metadata(context, Base.metadata) == []
