"""Alembic environment: runs on the connection the service hands over (see ``db.upgrade``)."""

from __future__ import annotations

from alembic import context

from {{ cookiecutter.package_name }} import DEPENDENCIES, models
from {{ cookiecutter.package_name }}.db import Base

# Imported for their tables, which autogenerate compares with the database: the models', and
# those of the dependencies the app factory wires (an outbox, say).
assert DEPENDENCIES
assert models

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through the service: flask --app <package> db upgrade")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
