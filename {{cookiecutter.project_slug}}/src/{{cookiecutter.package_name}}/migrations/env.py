"""Alembic environment: runs on the connection the service hands over (see ``db.upgrade``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic import context
from alembic.migration import MigrationContext
from alembic.operations import ops
from alembic.script import ScriptDirectory

from {{ cookiecutter.package_name }} import DEPENDENCIES, models
from {{ cookiecutter.package_name }}.db import Base

# Imported for their tables, which autogenerate compares with the database: the models', and
# those of the dependencies the app factory wires.
assert DEPENDENCIES
assert models

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through the service: flask --app <package> db upgrade")


def numbered(
    migration: MigrationContext, _revision: Any, directives: Iterable[ops.MigrationScript]
) -> None:
    """A new revision takes the next number after the head (0002 after 0001)."""
    head = ScriptDirectory.from_config(context.config).get_current_head()
    for script in directives:
        script.rev_id = f"{int(head or 0) + 1:04d}"


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    process_revision_directives=numbered,
)
with context.begin_transaction():
    context.run_migrations()
