"""Redis read-through cache of order documents.

The cache is an optimisation, never a dependency of correctness: every Redis error is logged and
treated as a miss, so a cache outage degrades reads to the database instead of failing them.
Each command is one attempt within ``CACHE_SOCKET_TIMEOUT_SECONDS``.

Without ``FLASK_REDIS_URL`` reads go to the database: for development only, reported by ``/readyz``
as ``disabled``; the production entry point refuses to start so.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import Session

from .. import config, wiring
from ..models import CREATED, Order

SETTINGS: dict[str, Any] = {
    # None reads from the database (development only; see the module's docstring).
    "REDIS_URL": None,
    # How long an entry is served before the database is read again; fractions of a second are
    # kept (the entry is written with a TTL in milliseconds).
    "CACHE_TTL_SECONDS": 60,
    "CACHE_SOCKET_TIMEOUT_SECONDS": 0.25,
}
logger = logging.getLogger(__name__)


class OrderCache:
    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self.client = client
        self.ttl_milliseconds = max(1, round(ttl_seconds * 1000))

    @staticmethod
    def key(order_id: int, viewer: str) -> str:
        """Where the order's document is kept for ``viewer`` (``wiring.Confinement``): a
        document read by one caller is never served to another who may not see it."""
        own = f":{hashlib.sha256(viewer.encode()).hexdigest()[:32]}" if viewer else ""
        return f"{{ cookiecutter.package_name }}:order:{order_id}{own}"

    @classmethod
    def key_for_caller(cls, order_id: int) -> str:
        return cls.key(order_id, wiring.of(current_app).confinement.viewer())

    def get(self, order_id: int) -> dict[str, Any] | None:
        try:
            raw = self.client.get(self.key_for_caller(order_id))
        except redis.RedisError as error:
            logger.warning("cache read failed, reading from the database: %s", error)
            return None
        if raw is None:
            return None
        try:
            document: dict[str, Any] = json.loads(raw)
        except ValueError:
            # Written by something else, or cut short: not worth failing a read over (the read
            # through writes the database's copy over it).
            logger.warning("unreadable cache entry for order %s, read from the database", order_id)
            return None
        return document

    def put(self, order_id: int, document: dict[str, Any]) -> None:
        try:
            self.client.set(
                self.key_for_caller(order_id), json.dumps(document), px=self.ttl_milliseconds
            )
        except redis.RedisError as error:
            logger.warning("cache write failed: %s", error)

    def invalidate(self, order_id: int) -> None:
        try:
            self.client.delete(self.key_for_caller(order_id))
        except redis.RedisError as error:
            # A stale entry outlives the outage by at most the TTL.
            logger.warning("cache invalidation failed: %s", error)

    def invalidate_changed(self, _session: Session, order: Order, change: str) -> None:
        """After a change is committed. A new order has nothing cached yet: creating one never
        waits on the cache. Only a caller who may see an order changes it: the entry is the one
        kept for that caller."""
        if change != CREATED:
            self.invalidate(order.id)

    def read_through(self, order_id: int, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The cached document, or the loaded one, which is then cached."""
        cached = self.get(order_id)
        if cached is not None:
            return cached
        document = load()
        self.put(order_id, document)
        return document

    def check(self, _bound: float) -> None:
        # Bounded by the client's socket timeout, shorter than any readiness bound.
        self.client.ping()

    def close(self) -> None:
        self.client.close()


def init_app(app: Flask) -> None:
    wiring.settings(app, SETTINGS)
    if not config.given(app, "REDIS_URL") and app.config["EMBEDDED_DEFAULTS"]:
        logger.warning("FLASK_REDIS_URL is not set: orders are read without a cache")
        wiring.register(app, wiring.Dependency("cache", _disabled, required=False))
        return
    url = config.required(app, "REDIS_URL", "orders would be read without the cache")
    timeout = config.seconds(app, "CACHE_SOCKET_TIMEOUT_SECONDS")
    # One attempt per command: redis-py's default retries (with pauses of up to seconds) would
    # make reads wait on a cache they can do without.
    client = redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    cache = OrderCache(client, config.seconds(app, "CACHE_TTL_SECONDS"))
    wired = wiring.of(app)
    wired.reader = cache.read_through
    wired.on_committed.append(cache.invalidate_changed)
    wiring.register(app, wiring.Dependency("cache", cache.check, required=False, close=cache.close))


def _disabled(_bound: float) -> str:
    return "disabled"
