"""PostgreSQL (psycopg 3): what the shared database code needs to know about this server.

Every wait a request can make is bounded, so that a server that cannot answer costs a request
seconds (then a 503 problem), never a hang. Each by a setting of the pool, the driver or the server
where one exists (``ENGINE_OPTIONS``):

- a connection from the pool when every one is taken: ``pool_timeout``;
- a new connection (TCP, start-up, authentication) to a server that is down, frozen or accepts and
  never answers: ``connect_timeout``, which psycopg applies to the whole attempt;
- a statement on a server that answers: ``statement_timeout`` and ``lock_timeout``, which the server
  enforces, cancelling the statement and keeping the connection;
- a round trip to a peer that vanished: ``tcp_user_timeout``, and keepalives find an idle pooled
  connection to one dead before a request takes it.

One wait has no setting: a round trip (a statement, the pool's pre-ping, a commit, a rollback) to a
server that is alive at the TCP level but answers nothing, a frozen or hung process. Its kernel
acknowledges every packet, so neither TCP bound fires; the server enforces nothing; libpq and
psycopg have no read timeout. The smallest code that holds, on public APIs only:

- a deadline per round trip that shuts down (a duplicate of) the connection's socket, which the
  driver reports as a lost connection: nothing else wakes a thread waiting in the driver, and a
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
from collections.abc import Iterator
from typing import Any, Self

import psycopg
import sqlalchemy as sa

from ..wiring import DatabaseServer

CONNECT_SECONDS = 2  # psycopg's minimum
STATEMENT_MILLISECONDS = 1000
LOCK_MILLISECONDS = 500
# A round trip's deadline: a little above the statement timeout, so that a server that answers
# cancels a slow statement itself and the connection is kept.
CALL_SECONDS = 1.5

ENGINE_OPTIONS: dict[str, Any] = {
    "connect_args": {
        "connect_timeout": CONNECT_SECONDS,
        "options": f"-c statement_timeout={STATEMENT_MILLISECONDS} -c lock_timeout={LOCK_MILLISECONDS}",
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
        "tcp_user_timeout": int(CALL_SECONDS * 1000),
    },
    "pool_timeout": 2,
}
# A migration may hold a table for long (a type changed, an index built): its statements are not
# bounded, and it waits a little longer for a lock, still short enough that it gives up rather than
# queue every request behind it.
MIGRATION_OPTIONS: dict[str, Any] = {
    "connect_args": {"connect_timeout": CONNECT_SECONDS, "options": "-c lock_timeout=5000"},
}


class Deadlines:
    """Shuts down the socket of a round trip that outlives ``seconds``: one thread per process,
    started with the first round trip (again in a forked worker), looks ten times a second."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._waiting: dict[socket.socket, float] = {}
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def bounding(self, connection: psycopg.Connection[Any]) -> Iterator[None]:
        try:
            descriptor = os.dup(connection.fileno())
        except psycopg.OperationalError:  # closed or lost: the call fails at once, on its own
            yield
            return
        # A duplicate: shutting it down ends the connection for the driver too, while closing it
        # leaves the driver's own descriptor alone.
        with socket.socket(fileno=descriptor) as duplicate:
            with self._lock:
                self._waiting[duplicate] = time.monotonic() + self.seconds
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
            time.sleep(0.1)
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

    def commit(self) -> None:
        with DEADLINES.bounding(self):
            super().commit()

    def rollback(self) -> None:
        with DEADLINES.bounding(self):
            super().rollback()


def bound_waits(engine: sa.Engine) -> None:
    """The engine's connections made bounded (``do_connect``: this dialect's connect, which the
    event may make itself)."""
    sa.event.listen(engine, "do_connect", _connect_bounded)


def _connect_bounded(
    _dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]
) -> BoundedConnection:
    return BoundedConnection.connect(*cargs, cursor_factory=BoundedCursor, **cparams)


SERVER = DatabaseServer(
    backends=("postgresql",),
    engine_options=ENGINE_OPTIONS,
    migration_options=MIGRATION_OPTIONS,
    bound_waits=bound_waits,
)
