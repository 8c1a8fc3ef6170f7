"""Ids as large as the API accepts: BIGINT on a database server.

The API takes ids up to 2**63 - 1, an INTEGER column holds 2**31 - 1: a larger id made the driver
fail (a 500) instead of finding nothing (a 404). SQLite's INTEGER is already 64 bits.

Revision ID: 0003
Revises: 0002 (0001 in a service without the outbox)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
# The revision before this one is the newest of those the service has (the outbox comes with
# its dependency).
down_revision = "0002" if any(Path(__file__).parent.glob("0002_*.py")) else "0001"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_order_status_changes_order"
# Each id column, by table; ``True`` for a primary key (auto-incremented).
COLUMNS = [
    ("orders", "id", True),
    ("order_status_changes", "id", True),
    ("order_status_changes", "order_id", False),
    ("outbox", "id", True),
]


def upgrade() -> None:
    _change_ids(sa.Integer(), sa.BigInteger(), "bigint")


def downgrade() -> None:
    _change_ids(sa.BigInteger(), sa.Integer(), "integer")


def _change_ids(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int], name: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    tables = set(sa.inspect(bind).get_table_names())
    mysql = bind.dialect.name in ("mysql", "mariadb")
    # A server refuses to change the type of a column a foreign key joins.
    op.drop_constraint(FOREIGN_KEY, "order_status_changes", type_="foreignkey")
    for table, column, primary in COLUMNS:
        if table not in tables:
            continue
        # MySQL's MODIFY restates the whole column: AUTO_INCREMENT would be lost unless named.
        options: dict[str, Any] = {"autoincrement": primary} if mysql else {}
        op.alter_column(
            table, column, existing_type=old, type_=new, existing_nullable=False, **options
        )
        if primary and bind.dialect.name == "postgresql":
            # A serial column's sequence has a type of its own, INTEGER's range included.
            op.execute(f"ALTER SEQUENCE {table}_{column}_seq AS {name}")
    op.create_foreign_key(
        FOREIGN_KEY,
        "order_status_changes",
        "orders",
        ["order_id"],
        ["id"],
        ondelete="CASCADE",
    )
