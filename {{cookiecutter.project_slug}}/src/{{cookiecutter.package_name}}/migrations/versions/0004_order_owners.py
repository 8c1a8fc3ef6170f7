"""Each order's owner: the subject of the token that created it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from {{ cookiecutter.package_name }}.db import ExactString

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_owners",
        sa.Column(
            "order_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("orders.id", name="fk_order_owners_order", ondelete="CASCADE"),
            primary_key=True,
        ),
        # Compared as written on every database: case, accents and trailing spaces count.
        sa.Column("owner", ExactString(255), nullable=False),
    )
    op.create_index("ix_order_owners_owner", "order_owners", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_order_owners_owner", table_name="order_owners")
    op.drop_table("order_owners")
