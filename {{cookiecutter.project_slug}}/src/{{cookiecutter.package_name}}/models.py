"""The orders domain: what is stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import CENTS, Base, BigId, Money, UTCDateTime
from .schemas import OrderOut, StatusChangeOut

CREATED = "created"
CANCELLED = "cancelled"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _amount(value: Decimal) -> str:
    # Two decimals whether the value was read back from the database or is the one just given.
    return str(value.quantize(CENTS))


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key", name="uq_orders_idempotency_key"),
        sa.CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(16), default=CREATED)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: an update that lost a race fails instead of overwriting the winner.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    history: Mapped[list[StatusChange]] = relationship(
        order_by="StatusChange.id", lazy="selectin", cascade="all, delete-orphan"
    )

    def change_status(self, status: str) -> None:
        self.status = status
        self.history.append(StatusChange(status=status))

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity

    def out(self) -> OrderOut:
        """The order as the API shows it (the OpenAPI document describes the same model)."""
        return OrderOut.model_validate(
            {
                "id": self.id,
                "sku": self.sku,
                "quantity": self.quantity,
                "unit_price": _amount(self.unit_price),
                "total": _amount(self.total),
                "currency": self.currency,
                "status": self.status,
                "created_at": self.created_at.isoformat(),
                "history": [change.out() for change in self.history],
            }
        )

    def to_dict(self) -> dict[str, object]:
        return self.out().model_dump()


class StatusChange(Base):
    """Every status an order went through, in order."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        BigId,
        sa.ForeignKey("orders.id", name="fk_order_status_changes_order", ondelete="CASCADE"),
        index=True,
    )
    status: Mapped[str] = mapped_column(sa.String(16))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def out(self) -> StatusChangeOut:
        return StatusChangeOut.model_validate(
            {"status": self.status, "changed_at": self.changed_at.isoformat()}
        )

    def to_dict(self) -> dict[str, object]:
        return self.out().model_dump()
