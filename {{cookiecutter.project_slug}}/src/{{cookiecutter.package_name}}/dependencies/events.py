"""Domain events on RabbitMQ, through a transactional outbox.

An event is written to the ``outbox`` table in the same transaction as the change it announces;
a relay worker (``flask --app {{ cookiecutter.package_name }} events worker``, a process of its
own) publishes it to a durable topic exchange with publisher confirms. A request never waits on
the broker: when it is down the order is still accepted, its event waits in the outbox, and the
worker publishes it within about a poll interval of the broker coming back
(``flask ... events relay`` publishes what waits once, by hand). Delivery is at least once:
consumers deduplicate by ``message_id``.

Each pass claims the waiting rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` (on a database server),
so that several workers never publish the same event; SQLite has no row locks: run one worker.

Without ``FLASK_BROKER_URL`` events stay in process (kombu's memory transport): for development
only, reported by ``/readyz`` as ``embedded``; the production entry point refuses to start so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from kombu import Connection, Exchange
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from .. import config, db, wiring
from ..db import Base, BigId, UTCDateTime
from ..models import CREATED, Order, utcnow

CONTENT_TYPE = "application/json"
APP_ID = "{{ cookiecutter.project_slug }}"
EMBEDDED_URL = "memory://"
SETTINGS: dict[str, Any] = {
    # None keeps events in process (kombu's memory transport; development only).
    "BROKER_URL": None,
    "BROKER_EXCHANGE": "orders",
    # Bounds every connect, publish and confirm: a hung broker costs the worker this, per pass.
    "BROKER_TIMEOUT_SECONDS": 2.0,
    # How often the worker looks for waiting events (and retries a broker that was down).
    "BROKER_RELAY_INTERVAL_SECONDS": 0.2,
    "BROKER_RELAY_BATCH": 100,
}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
logger = logging.getLogger(__name__)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(36))
    routing_key: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text)
    # The message's AMQP headers, a JSON object: what the change's context gave it to carry
    # (``wiring.message_headers``), kept with the row until the relay publishes it.
    headers: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


def record(
    session: Session,
    routing_key: str,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Adds an event to the session's transaction; it is sent once that transaction commits,
    with ``headers``."""
    message = OutboxMessage(
        message_id=str(uuid.uuid4()),
        routing_key=routing_key,
        body=json.dumps(payload),
        headers=json.dumps(headers or {}),
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
            "headers": json.loads(message.headers),
        },
    )


class Publisher:
    def __init__(
        self,
        url: str,
        exchange_name: str,
        timeout_seconds: float,
        hooks: wiring.Wiring | None = None,
    ) -> None:
        self.url = url
        self.exchange = Exchange(exchange_name, type="topic", durable=True)
        self.timeout_seconds = timeout_seconds
        # What wraps each pass and each publication (``wiring.relaying``, ``wiring.publishing``):
        # the app's own, so that what a dependency initialised later adds is used too.
        self.hooks = hooks if hooks is not None else wiring.Wiring()

    def _connection(self) -> Connection:
        return Connection(
            self.url,
            connect_timeout=self.timeout_seconds,
            # One attempt per pass: kombu would otherwise retry with growing pauses (2 s, 4 s...),
            # and the worker would notice a broker back long after it is.
            transport_options={"confirm_publish": True, "max_retries": 0},
        )

    def relay(self, session: Session, batch: int) -> int:
        """Publishes up to ``batch`` waiting events, oldest first; returns how many were confirmed.

        The rows stay claimed (locked) until the one commit at the end, which marks what was
        confirmed: stops at the first broker failure and leaves the rest for the next pass. Never
        raises for the broker; a database failure propagates (nothing was marked)."""
        with ExitStack() as wrapped:
            for wrap in self.hooks.relaying:
                wrapped.enter_context(wrap())
            return self._relay(session, batch)

    def _relay(self, session: Session, batch: int) -> int:
        waiting = session.scalars(claim_waiting(batch)).all()
        if not waiting:
            session.rollback()  # releases the (empty) claim
            return 0
        sent = 0
        try:
            with self._connection() as connection:
                producer = connection.Producer()
                for message in waiting:
                    self._publish(producer, message)
                    message.published_at = utcnow()
                    sent += 1
        except Exception as error:  # any broker failure leaves the event waiting
            logger.warning(
                "broker unavailable, %d event(s) wait in the outbox: %s",
                len(waiting) - sent,
                error,
            )
        session.commit()
        return sent

    def _publish(self, producer: Any, message: OutboxMessage) -> None:
        outgoing = message_of(message)
        with ExitStack() as wrapped:
            for wrap in self.hooks.publishing:
                wrapped.enter_context(wrap(message.routing_key, outgoing.properties))
            self._send(producer, message, outgoing)

    def _send(self, producer: Any, message: OutboxMessage, outgoing: Outgoing) -> None:
        producer.publish(
            outgoing.body,
            exchange=self.exchange,
            routing_key=message.routing_key,
            declare=[self.exchange],
            timeout=self.timeout_seconds,
            confirm_timeout=self.timeout_seconds,
            **outgoing.properties,
        )

    def check(self, bound: float) -> str | None:
        # One attempt within the bound: kombu's default would retry after a pause.
        timeout = min(bound, self.timeout_seconds)
        connection = Connection(self.url, connect_timeout=timeout)
        with connection:
            connection.ensure_connection(max_retries=0, timeout=timeout)
        return "embedded" if self.url == EMBEDDED_URL else None


PUBLISHER: wiring.Extension[Publisher] = wiring.Extension(__name__)


def init_app(app: Flask) -> None:
    wiring.settings(app, SETTINGS)
    if config.given(app, "BROKER_URL") or not app.config["EMBEDDED_DEFAULTS"]:
        url = config.required(app, "BROKER_URL", "events would never leave the process")
    else:
        logger.warning("FLASK_BROKER_URL is not set: events stay in process (development only)")
        url = EMBEDDED_URL
    publisher = Publisher(
        url,
        app.config["BROKER_EXCHANGE"],
        float(app.config["BROKER_TIMEOUT_SECONDS"]),
        wiring.of(app),
    )
    PUBLISHER.set(app, publisher)
    wiring.of(app).on_recorded.append(_record_creation)
    wiring.register(app, wiring.Dependency("broker", publisher.check, required=False))
    app.cli.add_command(events_cli)


def _record_creation(session: Session, order: Order, change: str) -> None:
    if change == CREATED:
        # Same transaction as the order: the event is kept even when the broker is down.
        connected = wiring.of(current_app)
        fields = connected.confinement.event_fields()
        headers = {
            name: value for source in connected.message_headers for name, value in source().items()
        }
        record(session, "order.created", {**order.to_dict(), **fields}, headers)


def claim_waiting(batch: int) -> sa.Select[Any]:
    """The oldest waiting events, locked for this transaction; rows another relay holds are
    skipped rather than waited for (no row locks on SQLite: the clause is left out there)."""
    return (
        sa.select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )


def run_worker(
    relay: Callable[[], int], interval: float, stop: threading.Event, passes: int | None = None
) -> int:
    """Relays until ``stop`` is set (or ``passes`` ran); returns how many events it published.

    A pass that found a full batch is followed at once by the next; otherwise the worker sleeps
    one interval. A failing pass (the database down) is logged and retried after the interval."""
    published = 0
    done = 0
    while not stop.is_set() and (passes is None or done < passes):
        done += 1
        try:
            sent = relay()
        except Exception as error:  # the worker outlives any outage
            logger.warning("relay pass failed, retrying: %s", error)
            sent = 0
        published += sent
        if sent == 0:
            stop.wait(interval)
    return published


def publisher() -> Publisher:
    return PUBLISHER.of(current_app)


@click.group("events", help="Domain events and their outbox.")
def events_cli() -> None:
    pass


@events_cli.command("relay")
def relay_command() -> None:
    """Publish every event still waiting in the outbox."""
    sent = publisher().relay(db.session(), int(current_app.config["BROKER_RELAY_BATCH"]))
    click.echo(f"published {sent} event(s)")


@events_cli.command("worker")
@click.option("--passes", type=int, default=None, help="Stop after this many passes.")
@click.option(
    "--heartbeat",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file touched after every pass, for a health check to look at.",
)
def worker_command(passes: int | None, heartbeat: Path | None) -> None:
    """Publish waiting events continuously, until SIGTERM or SIGINT."""
    stop = threading.Event()
    # Finish the pass at hand (its commit marks what was confirmed), then leave.
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in STOP_SIGNALS}
    config = current_app.config
    sessions = db.database().sessions
    batch = int(config["BROKER_RELAY_BATCH"])
    logger.info("relay worker started")
    try:
        sent = run_worker(
            lambda: _relay_once(publisher(), sessions, batch, heartbeat),
            float(config["BROKER_RELAY_INTERVAL_SECONDS"]),
            stop,
            passes,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"published {sent} event(s)")


def _relay_once(
    relay: Publisher, sessions: sessionmaker[Session], batch: int, heartbeat: Path | None
) -> int:
    with sessions() as session:
        sent = relay.relay(session, batch)
    if heartbeat is not None:
        heartbeat.touch()
    return sent
