"""PostgreSQL (psycopg 3): what the shared database code needs to know about this server."""

from __future__ import annotations

from typing import Any

BACKENDS = ("postgresql",)

# Bounded waits, so that an unreachable server costs a request seconds, not minutes.
ENGINE_OPTIONS: dict[str, Any] = {"connect_args": {"connect_timeout": 3}, "pool_timeout": 5}
