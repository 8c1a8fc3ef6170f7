"""Alembic environment: runs on the connection the service hands over (see ``db.upgrade``)."""

from __future__ import annotations

from alembic import context

from {{ cookiecutter.package_name }} import dependencies, models
from {{ cookiecutter.package_name }}.db import Base

# Imported for their tables (a dependency may have its own): autogenerate compares them with the
# database.
assert models
dependencies.modules()

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through the service: flask --app <package> db upgrade")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
