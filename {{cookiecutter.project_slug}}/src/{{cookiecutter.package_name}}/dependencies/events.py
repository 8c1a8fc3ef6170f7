"""Domain events on RabbitMQ, through a transactional outbox.

An event is written to the ``outbox`` table in the same transaction as the change it announces,
then relayed to a durable topic exchange with publisher confirms. When the broker is down the
request still succeeds and the event waits in the outbox; the next relay (after any later write,
or ``flask --app {{ cookiecutter.package_name }} events relay``) publishes it. Delivery is
therefore at least once: consumers deduplicate by ``message_id``.

Without ``FLASK_BROKER_URL`` events stay in process (kombu's memory transport): for development
only, reported by ``/readyz`` as ``embedded``; the production entry point refuses to start so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from kombu import Connection, Exchange
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import db, wiring
from ..db import Base, UTCDateTime
from ..models import CREATED, Order, utcnow
from ..orders import order_committed, order_recorded

EXTENSION = "{{ cookiecutter.package_name }}.events"
CONTENT_TYPE = "application/json"
APP_ID = "{{ cookiecutter.project_slug }}"
EMBEDDED_URL = "memory://"
SETTINGS: dict[str, Any] = {
    # None keeps events in process (kombu's memory transport; development only).
    "BROKER_URL": None,
    "BROKER_EXCHANGE": "orders",
    "BROKER_TIMEOUT_SECONDS": 2.0,
}
logger = logging.getLogger(__name__)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(36))
    routing_key: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


def record(session: Session, routing_key: str, payload: dict[str, Any]) -> OutboxMessage:
    """Adds an event to the session's transaction; it is sent once that transaction commits."""
    message = OutboxMessage(
        message_id=str(uuid.uuid4()), routing_key=routing_key, body=json.dumps(payload)
    )
    session.add(message)
    return message


@dataclass(frozen=True)
class Outgoing:
    """A message as it goes to the broker: its body and its AMQP properties."""

    body: bytes
    properties: dict[str, Any]


def message_of(message: OutboxMessage) -> Outgoing:
    """What is published for an outbox entry; consumers' contracts are verified against it."""
    return Outgoing(
        body=message.body.encode(),
        properties={
            "content_type": CONTENT_TYPE,
            "content_encoding": "utf-8",
            "delivery_mode": 2,
            "message_id": message.message_id,
            "timestamp": int(message.created_at.timestamp()),
            "type": message.routing_key,
            "app_id": APP_ID,
        },
    )


class Publisher:
    def __init__(self, url: str, exchange_name: str, timeout_seconds: float) -> None:
        self.url = url
        self.exchange = Exchange(exchange_name, type="topic", durable=True)
        self.timeout_seconds = timeout_seconds

    def _connection(self) -> Connection:
        return Connection(
            self.url,
            connect_timeout=self.timeout_seconds,
            transport_options={"confirm_publish": True},
        )

    def relay(self, session: Session) -> int:
        """Publishes the waiting events, oldest first; returns how many were confirmed.

        Stops at the first failure and leaves the rest for the next relay: never raises."""
        waiting = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
        ).all()
        if not waiting:
            return 0
        sent = 0
        try:
            with self._connection() as connection:
                producer = connection.Producer()
                for message in waiting:
                    self._publish(producer, message)
                    message.published_at = utcnow()
                    session.commit()
                    sent += 1
        except Exception as error:  # any broker failure leaves the event waiting
            session.rollback()
            logger.warning(
                "broker unavailable, %d event(s) wait in the outbox: %s",
                len(waiting) - sent,
                error,
            )
        return sent

    def _publish(self, producer: Any, message: OutboxMessage) -> None:
        outgoing = message_of(message)
        producer.publish(
            outgoing.body,
            exchange=self.exchange,
            routing_key=message.routing_key,
            declare=[self.exchange],
            timeout=self.timeout_seconds,
            confirm_timeout=self.timeout_seconds,
            **outgoing.properties,
        )

    def check(self) -> str | None:
        with self._connection() as connection:
            connection.ensure_connection(max_retries=1, timeout=self.timeout_seconds)
        return "embedded" if self.url == EMBEDDED_URL else None


def init_app(app: Flask) -> None:
    wiring.settings(app, SETTINGS)
    url = app.config["BROKER_URL"]
    if not url and not app.config["EMBEDDED_DEFAULTS"]:
        raise RuntimeError("FLASK_BROKER_URL is not set: events would never leave the process.")
    if not url:
        logger.warning("FLASK_BROKER_URL is not set: events stay in process (development only)")
    publisher = Publisher(
        url or EMBEDDED_URL,
        app.config["BROKER_EXCHANGE"],
        float(app.config["BROKER_TIMEOUT_SECONDS"]),
    )
    app.extensions[EXTENSION] = publisher
    order_recorded.connect(_record_creation, sender=app)
    order_committed.connect(_relay_after_creation, sender=app)
    wiring.register(app, wiring.Dependency("broker", publisher.check, required=False))
    app.cli.add_command(events_cli)


def _record_creation(_app: Flask, session: Session, order: Order, change: str, **_: Any) -> None:
    if change == CREATED:
        # Same transaction as the order: the event is kept even when the broker is down.
        record(session, "order.created", order.to_dict())


def _relay_after_creation(app: Flask, session: Session, change: str, **_: Any) -> None:
    if change == CREATED:
        app.extensions[EXTENSION].relay(session)


def publisher() -> Publisher:
    instance: Publisher = current_app.extensions[EXTENSION]
    return instance


@click.group("events", help="Domain events and their outbox.")
def events_cli() -> None:
    pass


@events_cli.command("relay")
def relay_command() -> None:
    """Publish every event still waiting in the outbox."""
    sent = publisher().relay(db.session())
    click.echo(f"published {sent} event(s)")
