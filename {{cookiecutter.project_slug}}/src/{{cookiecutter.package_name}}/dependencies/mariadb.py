"""MariaDB (PyMySQL): what the shared database code needs to know about this server."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import mysql

BACKENDS = ("mysql", "mariadb")

# Bounded waits, so that an unreachable server costs a request seconds, not minutes.
ENGINE_OPTIONS: dict[str, Any] = {
    "connect_args": {"connect_timeout": 3, "read_timeout": 10, "write_timeout": 10},
    "pool_timeout": 5,
    "pool_recycle": 3600,
}

# DATETIME keeps whole seconds unless given a fractional precision: the microseconds would be
# lost, and an order read back would differ from the one just created.
DATETIME_TYPE = mysql.DATETIME(fsp=6)
