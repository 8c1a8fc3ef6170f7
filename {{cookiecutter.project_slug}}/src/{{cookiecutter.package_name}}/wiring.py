"""What the app's parts plug into, kept in one place per app (``of(app)``).

A dependency's ``init_app`` registers its readiness check (``register``) and may take a part of
the orders resource: where a new order's price comes from (``prices``), how an order document is
read (``reader``, through a cache, say), which orders a caller may see (``confinement``), what
happens when a change is stored (``on_recorded``: inside its transaction, so that whatever a hook
adds to the session is committed with the order, or not at all) and once it is committed
(``on_committed``), what it adds to the OpenAPI document (``amendments``), and what an event
carries from where it was recorded to where it is published (``message_headers``,
``publishing``, ``relaying``). A database server brings what the shared database code needs to know about it
(``DatabaseServer``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from flask import Flask

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .models import Order
    from .schemas import NewOrder

OK = "ok"
FAILING = "failing"
Value = TypeVar("Value")
Document = dict[str, Any]
logger = logging.getLogger(__name__)

# A readiness check raises when its dependency is unusable; it may return a state (such as
# "embedded") to report instead of "ok". It is given the seconds it may take, and takes no more
# where its client can be bounded per call, with no retries.
Check = Callable[[float], str | None]
# Reads an order's document; given the id and the database read, which it may avoid.
Reader = Callable[[int, Callable[[], Document]], Document]
# Given the session that stores a change, the order and the change (its new status).
ChangeHook = Callable[["Session", "Order", str], None]
# A change a dependency makes to the OpenAPI document (its security scheme, say), in place.
Amendment = Callable[[dict[str, Any]], None]
# Headers an event recorded now carries when it is published (the context it was recorded in).
HeaderSource = Callable[[], dict[str, str]]
# Wraps the publication of one event, given its routing key and its message's properties, whose
# headers it may amend before the message goes.
Publishing = Callable[[str, dict[str, Any]], AbstractContextManager[object]]
# Wraps one pass of the relay that publishes recorded events.
Relaying = Callable[[], AbstractContextManager[object]]


class Extension(Generic[Value]):
    """One object per app, kept in ``app.extensions`` under ``name`` and read back typed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def set(self, app: Flask, value: Value) -> Value:
        app.extensions[self.name] = value
        return value

    def of(self, app: Flask) -> Value:
        value: Value = app.extensions[self.name]
        return value


@dataclass
class Dependency:
    name: str
    check: Check
    # False for what the service is built to survive (a cache, say): its failure degrades
    # readiness instead of failing it. A function when that changes while the service runs.
    required: bool | Callable[[], bool]
    close: Callable[[], None] = lambda: None
    # Fetches, before the first request, what requests would otherwise wait for; never raises.
    warm: Callable[[], None] = lambda: None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _running: Future[str] | None = field(default=None, init=False, repr=False)

    def needed(self) -> bool:
        """Whether the service cannot work without it, now."""
        return self.required() if callable(self.required) else self.required

    def state(self, bound: float) -> Future[str]:
        """The state the check in flight will report, or a new check's, given ``bound`` seconds:
        at most one check at a time, in a thread of its own, so that neither a burst of probes
        nor a hung dependency piles up threads or connections."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(
                    target=self._run,
                    args=(self._running, bound),
                    name=f"readiness-{self.name}",
                    daemon=True,
                ).start()
            return self._running

    def _run(self, outcome: Future[str], bound: float) -> None:
        try:
            state = self.check(bound) or OK
        except Exception as error:  # whatever a check raises, its dependency is unusable
            logger.warning(
                "readiness: %s is failing: %s: %s", self.name, type(error).__name__, error
            )
            state = FAILING
        outcome.set_result(state)


@dataclass(frozen=True)
class Price:
    unit_price: Decimal
    currency: str


class PriceSource(Protocol):
    """Where new orders get their price."""

    @property
    def request_model(self) -> type[NewOrder]:
        """What ``POST /orders`` accepts (the OpenAPI document shows it)."""
        ...

    @property
    def problems(self) -> dict[int, str]:
        """The statuses ``POST /orders`` may answer when its price cannot be had, documented."""
        ...

    def price_for(self, new: NewOrder) -> Price: ...


class Confinement(Protocol):
    """Which orders the caller of the current request may see and change."""

    def narrowed(self, query: sa.Select[Order]) -> sa.Select[Order]:
        """``query`` restricted to those orders."""
        ...

    def viewer(self) -> str:
        """Who the caller is, as far as what it may see goes: an order document kept for one
        viewer (a cache entry) is never served to another."""
        ...

    def event_fields(self) -> dict[str, str]:
        """What the events of the caller's changes add to the order's document (whose it is)."""
        ...


class Everyone:
    """Without a confinement: every caller sees every order, alike."""

    def narrowed(self, query: sa.Select[Order]) -> sa.Select[Order]:
        return query

    def viewer(self) -> str:
        return ""

    def event_fields(self) -> dict[str, str]:
        return {}


def read_from_database(_order_id: int, load: Callable[[], Document]) -> Document:
    return load()


@dataclass
class Wiring:
    dependencies: dict[str, Dependency] = field(default_factory=dict)
    prices: PriceSource | None = None
    reader: Reader = read_from_database
    confinement: Confinement = field(default_factory=Everyone)
    on_recorded: list[ChangeHook] = field(default_factory=list)
    on_committed: list[ChangeHook] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)
    message_headers: list[HeaderSource] = field(default_factory=list)
    publishing: list[Publishing] = field(default_factory=list)
    relaying: list[Relaying] = field(default_factory=list)

    def price_source(self) -> PriceSource:
        if self.prices is None:
            raise RuntimeError("no dependency registered a price source")
        return self.prices

    def recorded(self, session: Session, order: Order, change: str) -> None:
        for hook in self.on_recorded:
            hook(session, order, change)

    def committed(self, session: Session, order: Order, change: str) -> None:
        for hook in self.on_committed:
            hook(session, order, change)


WIRING: Extension[Wiring] = Extension(__name__)


def init_app(app: Flask) -> None:
    WIRING.set(app, Wiring())


def of(app: Flask) -> Wiring:
    return WIRING.of(app)


def register(app: Flask, dependency: Dependency) -> None:
    of(app).dependencies[dependency.name] = dependency


@dataclass(frozen=True)
class DatabaseServer:
    """A database server the service can use: which SQLAlchemy backends it answers to, its
    settings (their defaults: durations, ``*_SECONDS``), the engine options that bound a request's
    waits (made from those settings) and those of a migration, types that keep microseconds and
    compare strings exactly if the defaults do not, and a hook for bounds the driver cannot set
    (``bound_waits``, given the settings too)."""

    backends: tuple[str, ...]
    settings: dict[str, Any]
    engine_options: Callable[[Mapping[str, Any]], dict[str, Any]]
    # For schema changes, which may rewrite a table: the connect bounded, statements not.
    migration_options: dict[str, Any]
    datetime_type: sa.types.TypeEngine[Any] | None = None
    # The type of a string of the given length compared exactly, if the default does not.
    exact_string_type: Callable[[int], sa.types.TypeEngine[Any]] | None = None
    bound_waits: Callable[[sa.Engine, Mapping[str, Any]], None] = lambda _engine, _settings: None


def settings(app: Flask, defaults: dict[str, Any]) -> None:
    """A dependency's settings: its defaults, unless ``FLASK_*`` variables or the app factory's
    overrides (loaded first) already set them."""
    for name, value in defaults.items():
        app.config.setdefault(name, value)


def warm(app: Flask) -> None:
    """Readies each dependency for the first requests (the production entry point does, before
    serving)."""
    for dependency in of(app).dependencies.values():
        dependency.warm()


def close(app: Flask) -> None:
    """Releases what every dependency holds (pooled connections, clients)."""
    for dependency in of(app).dependencies.values():
        dependency.close()
