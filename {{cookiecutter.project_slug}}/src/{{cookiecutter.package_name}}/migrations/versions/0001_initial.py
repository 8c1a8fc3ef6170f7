"""The service's tables, their ids 64 bits wide: as large as the API accepts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from {{ cookiecutter.package_name }} import db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out here rather than taken from the models: this revision makes the tables as they were
# when it was written, whatever later revisions change.
tables = sa.MetaData()

sa.Table(
    "orders",
    tables,
    sa.Column("id", db.BigId, primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("unit_price", db.Money(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=True),
    sa.Column("created_at", db.UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("idempotency_key", name="uq_orders_idempotency_key"),
    sa.CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
)

sa.Table(
    "order_status_changes",
    tables,
    sa.Column("id", db.BigId, primary_key=True),
    sa.Column(
        "order_id",
        db.BigId,
        sa.ForeignKey("orders.id", name="fk_order_status_changes_order", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("changed_at", db.UTCDateTime(), nullable=False),
    sa.Index("ix_order_status_changes_order_id", "order_id"),
)
{%- if cookiecutter.message_broker == "rabbitmq" %}

sa.Table(
    "outbox",
    tables,
    sa.Column("id", db.BigId, primary_key=True),
    sa.Column("message_id", sa.String(36), nullable=False),
    sa.Column("routing_key", sa.String(64), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("headers", sa.Text(), nullable=False),
    sa.Column("created_at", db.UTCDateTime(), nullable=False),
    sa.Column("published_at", db.UTCDateTime(), nullable=True),
    sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    sa.Index("ix_outbox_published_at", "published_at"),
)
{%- endif %}
{%- if cookiecutter.auth == "jwt" %}

sa.Table(
    "order_owners",
    tables,
    sa.Column(
        "order_id",
        db.BigId,
        sa.ForeignKey("orders.id", name="fk_order_owners_order", ondelete="CASCADE"),
        primary_key=True,
    ),
    # Compared as written on every database: case, accents and trailing spaces count.
    sa.Column("owner", db.ExactString(255), nullable=False),
    sa.Index("ix_order_owners_owner", "owner"),
)
{%- endif %}


def upgrade() -> None:
    # A table already there is an error, as with op.create_table, rather than skipped while the
    # version moves on; so is one already gone on the way down.
    tables.create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    tables.drop_all(op.get_bind(), checkfirst=False)
