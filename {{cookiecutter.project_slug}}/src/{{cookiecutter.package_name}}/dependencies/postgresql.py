"""PostgreSQL (psycopg 3): what the shared database code needs to know about this server.

Every wait is bounded, so that a server that cannot answer costs a request seconds (then a 503
problem), never a hang: a connect timeout; a statement and lock timeout the server enforces; TCP
keepalives and a user timeout for a peer that vanished. A server that is alive at the TCP level
but answers nothing (a hung or frozen process: its kernel still acknowledges every packet) is
beyond all of them, and libpq has no read timeout: ``bound_waits`` adds one, a watchdog that shuts
the socket of a call that outlives ``CALL_SECONDS``, which the driver then reports as a lost
connection.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from ..wiring import DatabaseServer

CONNECT_SECONDS = 2  # psycopg's minimum
STATEMENT_MILLISECONDS = 1000
LOCK_MILLISECONDS = 500
# A little above the statement timeout, so that a live server cancels a slow statement itself.
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


class Watchdog:
    """Shuts the socket of a call that outlives its deadline. One thread per process, started on
    first use, checks the calls in flight ten times a second."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._in_flight: dict[int, tuple[float, int]] = {}
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watching(self, dbapi_connection: Any) -> Iterator[None]:
        fd = _socket_of(dbapi_connection)
        token = id(dbapi_connection)
        with self._lock:
            self._in_flight[token] = (time.monotonic() + self.seconds, fd)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="db-watchdog", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.pop(token, None)

    def bounded(self, call: Callable[..., Any], connection_of: Callable[[Any], Any]) -> Any:
        @functools.wraps(call)
        def bounded_call(first: Any, *args: Any, **kwargs: Any) -> Any:
            with self.watching(connection_of(first)):
                return call(first, *args, **kwargs)

        return bounded_call

    def _watch(self) -> None:
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            with self._lock:
                expired = [t for t, (deadline, _) in self._in_flight.items() if deadline < now]
                sockets = [self._in_flight.pop(token)[1] for token in expired]
            for fd in sockets:
                _shut(fd)


def _socket_of(dbapi_connection: Any) -> int:
    try:
        fd: int = dbapi_connection.pgconn.socket
    except Exception:  # already lost: the call fails at once, there is nothing to shut
        return -1
    return fd


def _shut(fd: int) -> None:
    # On a duplicate of the descriptor: shutting it down ends the connection for the driver too,
    # which wakes from its wait and reports a lost connection; the driver still owns its own fd.
    if fd < 0:
        return
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as duplicate:
        duplicate.shutdown(socket.SHUT_RDWR)


def bound_waits(engine: sa.Engine) -> None:
    """Every round trip of the engine's connections (statements, pings, commits, rollbacks)
    under the watchdog."""
    watchdog = Watchdog(CALL_SECONDS)
    dialect = engine.dialect
    for name in ("do_execute", "do_execute_no_params", "do_executemany"):
        setattr(dialect, name, watchdog.bounded(getattr(dialect, name), _cursor_connection))
    for name in ("do_ping", "do_commit", "do_rollback"):
        setattr(dialect, name, watchdog.bounded(getattr(dialect, name), _itself))


def _cursor_connection(cursor: Any) -> Any:
    return cursor.connection


def _itself(dbapi_connection: Any) -> Any:
    return dbapi_connection


SERVER = DatabaseServer(
    backends=("postgresql",),
    engine_options=ENGINE_OPTIONS,
    migration_options=MIGRATION_OPTIONS,
    bound_waits=bound_waits,
)
