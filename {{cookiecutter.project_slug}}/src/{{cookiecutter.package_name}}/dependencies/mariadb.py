"""MariaDB (PyMySQL): what the shared database code needs to know about this server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects import mysql

from ..config import above
from ..wiring import DatabaseServer

# Bounded waits, so that a server that cannot answer costs a request seconds (then a 503
# problem), never a hang: PyMySQL's socket timeouts bound every read and write, even when the
# server is alive at the TCP level but answers nothing; the server bounds statements and locks.
# A write that lost a race to another connection is the service's own version check's to report
# (a 409, as on every server): MariaDB 11.6.2 and later would report it first, as an error the
# service cannot tell from a server that fails (1020, "Record has changed since last read"), so the
# session leaves that check off there; older servers skip the comment that says so.
SETTINGS: dict[str, Any] = {
    # A statement running longer is stopped by the server (max_statement_time); the connection is
    # kept.
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": 1.0,
    # Every read and write of a round trip to a server that answers nothing gives up after this,
    # losing the connection: above the statement timeout.
    "DATABASE_CALL_TIMEOUT_SECONDS": 1.5,
}


def session_command(statement_seconds: float) -> str:
    return (
        f"SET SESSION max_statement_time = {statement_seconds:g}, innodb_lock_wait_timeout = 1"
        " /*M!110602 , innodb_snapshot_isolation = OFF */"
    )


SESSION = session_command(SETTINGS["DATABASE_STATEMENT_TIMEOUT_SECONDS"])


def engine_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The engine options that bound a request's waits, from the settings (durations, checked).
    A lock is waited for a second at most (the server's least)."""
    statement = float(settings["DATABASE_STATEMENT_TIMEOUT_SECONDS"])
    call = float(settings["DATABASE_CALL_TIMEOUT_SECONDS"])
    above(
        settings,
        "DATABASE_CALL_TIMEOUT_SECONDS",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS",
        "a slow statement would cost the connection instead of being stopped",
    )
    return {
        "connect_args": {
            "connect_timeout": 2,
            "read_timeout": call,
            "write_timeout": call,
            "init_command": session_command(statement),
        },
        "pool_timeout": 2,
        "pool_recycle": 3600,
    }


ENGINE_OPTIONS: dict[str, Any] = engine_options(SETTINGS)
# A migration may hold a table for long (a column changed, an index built): its statements and
# reads are not bounded, and it waits a little longer for a lock.
MIGRATION_OPTIONS: dict[str, Any] = {
    "connect_args": {
        "connect_timeout": 2,
        "init_command": "SET SESSION innodb_lock_wait_timeout = 5",
    },
}

# A new column's default collation (utf8mb4_uca1400_ai_ci on 11.8) ignores case, accents and
# trailing spaces: 'ALICE' = 'alicé  ' there. Who owns an order must compare as written: binary,
# and without padding.
EXACT_COLLATION = "utf8mb4_nopad_bin"

SERVER = DatabaseServer(
    backends=("mysql", "mariadb"),
    settings=SETTINGS,
    engine_options=engine_options,
    migration_options=MIGRATION_OPTIONS,
    # DATETIME keeps whole seconds unless given a fractional precision: the microseconds would be
    # lost, and an order read back would differ from the one just created.
    datetime_type=mysql.DATETIME(fsp=6),
    exact_string_type=lambda length: mysql.VARCHAR(
        length, charset="utf8mb4", collation=EXACT_COLLATION
    ),
)
