"""PostgreSQL (psycopg 3): what the shared database code needs to know about this server.

Every wait a request can make is bounded, so that a server that cannot answer costs a request
seconds (then a 503 problem), never a hang. Each by a setting of the pool, the driver or the server
where one exists (``ENGINE_OPTIONS``):

- a connection from the pool when every one is taken: ``pool_timeout``;
- a new connection (TCP, start-up, authentication) to a server that is down, frozen or accepts and
  never answers: ``connect_timeout``, which psycopg applies to the whole attempt (2 s: libpq and
  psycopg take any shorter value as 2 s, so it is no setting);
- a statement on a server that answers: ``statement_timeout`` (``DATABASE_STATEMENT_TIMEOUT_SECONDS``)
  and ``lock_timeout``, which the server enforces, cancelling the statement and keeping the
  connection;
- a round trip to a peer that vanished: ``tcp_user_timeout``, and keepalives find an idle pooled
  connection to one dead before a request takes it.

One wait has no setting: a round trip (a statement, the pool's pre-ping, a commit, a rollback) to a
server that is alive at the TCP level but answers nothing, a frozen or hung process. Its kernel
acknowledges every packet, so neither TCP bound fires; the server enforces nothing; libpq and
psycopg have no read timeout. The smallest code that holds, on public APIs only:

- a deadline per round trip (``DATABASE_CALL_TIMEOUT_SECONDS``) that shuts down (a duplicate of)
  the connection's socket, which the driver reports as a lost connection: nothing else wakes a thread waiting in the driver, and a
  cancel request needs the same server to answer;
- set where psycopg makes each round trip, in the methods that make them: ``execute`` and
  ``executemany`` of its ``Cursor`` (statements and the pre-ping), ``commit`` and ``rollback`` of
  its ``Connection``, each subclassed; the engine connects with them through SQLAlchemy's
  ``do_connect`` event, documented for making the connection itself. SQLAlchemy's events cannot
  set it: none precedes the pre-ping, and those of a commit or rollback come before it, none after.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Self

import psycopg
import sqlalchemy as sa

from ..config import above
from ..wiring import DatabaseServer

CONNECT_SECONDS = 2  # psycopg's minimum
STATEMENT_MILLISECONDS = 1000
LOCK_MILLISECONDS = 500
# A round trip's deadline: a little above the statement timeout, so that a server that answers
# cancels a slow statement itself and the connection is kept.
CALL_SECONDS = 1.5
# How often the deadlines are looked at, at most: a round trip is cut this much after its deadline
# at worst (less for a short deadline).
WATCH_SECONDS = 0.1

SETTINGS: dict[str, Any] = {
    # A statement running longer is cancelled by the server; the connection is kept.
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": STATEMENT_MILLISECONDS / 1000,
    # A round trip (statement, pre-ping, commit, rollback) to a server that answers nothing is cut
    # after this, losing the connection: above the statement timeout.
    "DATABASE_CALL_TIMEOUT_SECONDS": CALL_SECONDS,
}


def engine_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The engine options that bound a request's waits, from the settings (durations, checked)."""
    statement = float(settings["DATABASE_STATEMENT_TIMEOUT_SECONDS"])
    call = float(settings["DATABASE_CALL_TIMEOUT_SECONDS"])
    above(
        settings,
        "DATABASE_CALL_TIMEOUT_SECONDS",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS",
        "a slow statement would cost the connection instead of being cancelled",
    )
    lock_milliseconds = min(LOCK_MILLISECONDS, max(1, round(statement * 1000)))
    return {
        "connect_args": {
            "connect_timeout": CONNECT_SECONDS,
            "options": (
                f"-c statement_timeout={max(1, round(statement * 1000))}"
                f" -c lock_timeout={lock_milliseconds}"
            ),
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 2,
            "tcp_user_timeout": max(1, round(call * 1000)),
        },
        "pool_timeout": 2,
    }


ENGINE_OPTIONS: dict[str, Any] = engine_options(SETTINGS)
# A migration may hold a table for long (a type changed, an index built): its statements are not
# bounded, and it waits a little longer for a lock, still short enough that it gives up rather than
# queue every request behind it.
MIGRATION_OPTIONS: dict[str, Any] = {
    "connect_args": {"connect_timeout": CONNECT_SECONDS, "options": "-c lock_timeout=5000"},
}


class Deadlines:
    """Shuts down the socket of a round trip that outlives its connection's deadline (``seconds``
    for a connection without one): one thread per process, started with the first round trip
    (again in a forked worker), looks every ``WATCH_SECONDS``, or more often for a short deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._waiting: dict[socket.socket, float] = {}
        self._thread: threading.Thread | None = None
        self._tick = min(WATCH_SECONDS, seconds / 5)

    @contextlib.contextmanager
    def bounding(self, connection: psycopg.Connection[Any]) -> Iterator[None]:
        seconds = float(getattr(connection, "deadline_seconds", self.seconds))
        try:
            descriptor = os.dup(connection.fileno())
        except psycopg.OperationalError:  # closed or lost: the call fails at once, on its own
            yield
            return
        # A duplicate: shutting it down ends the connection for the driver too, while closing it
        # leaves the driver's own descriptor alone.
        with socket.socket(fileno=descriptor) as duplicate:
            with self._lock:
                self._waiting[duplicate] = time.monotonic() + seconds
                self._tick = min(self._tick, seconds / 5)
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._watch, name="postgresql-deadlines", daemon=True
                    )
                    self._thread.start()
            try:
                yield
            finally:
                with self._lock:
                    del self._waiting[duplicate]

    def _watch(self) -> None:
        while True:
            time.sleep(self._tick)
            with self._lock:  # held, so that no duplicate is closed while it is shut down
                now = time.monotonic()
                for duplicate, deadline in self._waiting.items():
                    if deadline < now:
                        with contextlib.suppress(OSError):  # already shut down, or reset
                            duplicate.shutdown(socket.SHUT_RDWR)


DEADLINES = Deadlines(CALL_SECONDS)


class BoundedCursor(psycopg.Cursor[Any]):
    """Statements, and the pool's pre-ping, under the deadline."""

    def execute(self, *args: Any, **kwargs: Any) -> Self:
        with DEADLINES.bounding(self.connection):
            return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> None:
        with DEADLINES.bounding(self.connection):
            super().executemany(*args, **kwargs)


class BoundedConnection(psycopg.Connection[Any]):
    """Commits and rollbacks under the deadline; statements through ``BoundedCursor``."""

    # Each round trip's deadline (``DATABASE_CALL_TIMEOUT_SECONDS``), set as it connects.
    deadline_seconds: float = CALL_SECONDS

    def commit(self) -> None:
        with DEADLINES.bounding(self):
            super().commit()

    def rollback(self) -> None:
        with DEADLINES.bounding(self):
            super().rollback()


def bound_waits(engine: sa.Engine, settings: Mapping[str, Any]) -> None:
    """The engine's connections made bounded, each round trip by the settings' deadline
    (``do_connect``: this dialect's connect, which the event may make itself)."""
    seconds = float(settings["DATABASE_CALL_TIMEOUT_SECONDS"])

    def connect_bounded(
        _dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> BoundedConnection:
        connection = BoundedConnection.connect(*cargs, cursor_factory=BoundedCursor, **cparams)
        connection.deadline_seconds = seconds
        return connection

    sa.event.listen(engine, "do_connect", connect_bounded)


SERVER = DatabaseServer(
    backends=("postgresql",),
    settings=SETTINGS,
    engine_options=engine_options,
    migration_options=MIGRATION_OPTIONS,
    bound_waits=bound_waits,
)
