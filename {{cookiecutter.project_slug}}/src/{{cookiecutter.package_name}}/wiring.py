"""What each dependency registers with the app, for the shared code to iterate over: its
readiness check, whether the service can work without it, and what to release on close; and what a
database server brings to the shared database code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask

EXTENSION = "{{ cookiecutter.package_name }}.wiring"

# A readiness check raises when its dependency is unusable; it may return a state (such as
# "embedded") to report instead of "ok". It is given the seconds it may take, and takes no more
# where its client can be bounded per call (``health``), with no retries.
Check = Callable[[float], str | None]


@dataclass(frozen=True)
class Dependency:
    name: str
    check: Check
    # False for what the service is built to survive (a cache, say): its failure degrades
    # readiness instead of failing it. A function when that changes while the service runs.
    required: bool | Callable[[], bool]
    close: Callable[[], None] = lambda: None
    # Fetches, before the first request, what requests would otherwise wait for; never raises.
    warm: Callable[[], None] = lambda: None

    def needed(self) -> bool:
        """Whether the service cannot work without it, now."""
        return self.required() if callable(self.required) else self.required


def _no_extra_bounds(_engine: sa.Engine) -> None:
    pass


@dataclass(frozen=True)
class DatabaseServer:
    """A database server the service can use: which SQLAlchemy backends it answers to, the
    engine options that bound a request's waits and those of a migration, types that keep
    microseconds and compare strings exactly if the defaults do not, and a hook for bounds the driver cannot set
    (``bound_waits``)."""

    backends: tuple[str, ...]
    engine_options: dict[str, Any]
    # For schema changes, which may rewrite a table: the connect bounded, statements not.
    migration_options: dict[str, Any]
    datetime_type: sa.types.TypeEngine[Any] | None = None
    # The type of a string of the given length compared exactly, if the default does not.
    exact_string_type: Callable[[int], sa.types.TypeEngine[Any]] | None = None
    bound_waits: Callable[[sa.Engine], None] = _no_extra_bounds


def register(app: Flask, dependency: Dependency) -> None:
    app.extensions.setdefault(EXTENSION, {})[dependency.name] = dependency


def registered(app: Flask) -> dict[str, Dependency]:
    found: dict[str, Dependency] = app.extensions.get(EXTENSION, {})
    return found


def settings(app: Flask, defaults: dict[str, Any]) -> None:
    """A dependency's settings: its defaults, unless ``FLASK_*`` variables or the app factory's
    overrides (loaded first) already set them."""
    for name, value in defaults.items():
        app.config.setdefault(name, value)


def warm(app: Flask) -> None:
    """Readies each dependency for the first requests (the production entry point does, before
    serving)."""
    for dependency in registered(app).values():
        dependency.warm()


def close(app: Flask) -> None:
    """Releases what every dependency holds (pooled connections, clients)."""
    for dependency in registered(app).values():
        dependency.close()
