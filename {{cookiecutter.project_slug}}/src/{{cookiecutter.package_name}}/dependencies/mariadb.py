"""MariaDB (PyMySQL): what the shared database code needs to know about this server."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import mysql

from ..wiring import DatabaseServer

# Bounded waits, so that a server that cannot answer costs a request seconds (then a 503
# problem), never a hang: PyMySQL's socket timeouts bound every read and write, even when the
# server is alive at the TCP level but answers nothing; the server bounds statements and locks.
# A write that lost a race to another connection is the service's own version check's to report
# (a 409, as on every server): MariaDB 11.6.2 and later would report it first, as an error the
# service cannot tell from a server that fails (1020, "Record has changed since last read"), so the
# session leaves that check off there; older servers skip the comment that says so.
SESSION = (
    "SET SESSION max_statement_time = 1, innodb_lock_wait_timeout = 1"
    " /*M!110602 , innodb_snapshot_isolation = OFF */"
)
ENGINE_OPTIONS: dict[str, Any] = {
    "connect_args": {
        "connect_timeout": 2,
        "read_timeout": 1.5,
        "write_timeout": 1.5,
        "init_command": SESSION,
    },
    "pool_timeout": 2,
    "pool_recycle": 3600,
}
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
    engine_options=ENGINE_OPTIONS,
    migration_options=MIGRATION_OPTIONS,
    # DATETIME keeps whole seconds unless given a fractional precision: the microseconds would be
    # lost, and an order read back would differ from the one just created.
    datetime_type=mysql.DATETIME(fsp=6),
    exact_string_type=lambda length: mysql.VARCHAR(
        length, charset="utf8mb4", collation=EXACT_COLLATION
    ),
)
