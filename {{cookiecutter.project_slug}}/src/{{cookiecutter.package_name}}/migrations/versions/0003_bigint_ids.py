"""Ids as large as the API accepts: BIGINT on a database server.

The API takes ids up to 2**63 - 1, an INTEGER column holds 2**31 - 1: a larger id made the driver
fail (a 500) instead of finding nothing (a 404). SQLite's INTEGER is already 64 bits.

Every integer primary key named ``id`` and every integer column a foreign key joins is changed, in
whichever tables the service has (a dependency may bring its own).

Revision ID: 0003
Revises: {{ "0002" if cookiecutter.message_broker == "rabbitmq" else "0001" }}
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
{%- if cookiecutter.message_broker == "rabbitmq" %}
down_revision = "0002"
{%- else %}
down_revision = "0001"
{%- endif %}
branch_labels = None
depends_on = None

# table, column, whether it is the primary key, and the sequence that numbers it (if any)
Column = tuple[str, str, bool, str | None]
NEXTVAL = re.compile(r"nextval\('([^']+)'")


def upgrade() -> None:
    _change_ids(sa.Integer(), sa.BigInteger(), "bigint")


def downgrade() -> None:
    _change_ids(sa.BigInteger(), sa.Integer(), "integer")


def _change_ids(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int], name: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    inspector = sa.inspect(bind)
    tables = [table for table in inspector.get_table_names() if table != "alembic_version"]
    foreign_keys = {table: inspector.get_foreign_keys(table) for table in tables}
    # A server refuses to change the type of a column a foreign key joins: drop, change, restore.
    for table, keys in foreign_keys.items():
        for key in keys:
            op.drop_constraint(str(key["name"]), table, type_="foreignkey")
    for table, column, primary, sequence in _id_columns(inspector, tables, foreign_keys):
        # A column numbered by a sequence keeps it (the sequence has a type, and so a range, of
        # its own); a column that numbers itself is restated whole, auto-increment included.
        options: dict[str, Any] = {"autoincrement": True} if primary and not sequence else {}
        op.alter_column(
            table, column, existing_type=old, type_=new, existing_nullable=False, **options
        )
        if sequence:
            op.execute(f"ALTER SEQUENCE {sequence} AS {name}")
    for table, keys in foreign_keys.items():
        for key in keys:
            op.create_foreign_key(
                str(key["name"]),
                table,
                key["referred_table"],
                key["constrained_columns"],
                key["referred_columns"],
                **key.get("options", {}),
            )


def _id_columns(
    inspector: sa.Inspector, tables: list[str], foreign_keys: dict[str, list[Any]]
) -> list[Column]:
    joined = {
        (table, column)
        for table, keys in foreign_keys.items()
        for key in keys
        for column in key["constrained_columns"]
    }
    found = []
    for table in tables:
        primary = set(inspector.get_pk_constraint(table)["constrained_columns"])
        for column in inspector.get_columns(table):
            if not isinstance(column["type"], sa.Integer):
                continue
            numbered = NEXTVAL.search(str(column.get("default") or ""))
            sequence = numbered[1] if numbered else None
            if column["name"] == "id" and column["name"] in primary:
                found.append((table, column["name"], True, sequence))
            elif (table, column["name"]) in joined:
                found.append((table, column["name"], False, None))
    return found
