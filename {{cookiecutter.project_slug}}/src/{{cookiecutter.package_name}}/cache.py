"""Redis read-through cache of order documents.

The cache is an optimisation, never a dependency of correctness: every Redis error is logged and
treated as a miss, so a cache outage degrades reads to the database instead of failing them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from flask import Flask, current_app

EXTENSION = "{{ cookiecutter.package_name }}.cache"
logger = logging.getLogger(__name__)


class OrderCache:
    def __init__(self, client: redis.Redis | None, ttl_seconds: int) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def key(order_id: int) -> str:
        return f"{{ cookiecutter.package_name }}:order:{order_id}"

    def get(self, order_id: int) -> dict[str, Any] | None:
        if self.client is None:
            return None
        try:
            raw = self.client.get(self.key(order_id))
        except redis.RedisError as error:
            logger.warning("cache read failed, reading from the database: %s", error)
            return None
        if raw is None:
            return None
        try:
            document: dict[str, Any] = json.loads(raw)
        except ValueError:
            # Written by something else, or cut short: not worth failing a read over.
            logger.warning("unreadable cache entry for order %s, read from the database", order_id)
            self.invalidate(order_id)
            return None
        return document

    def put(self, order_id: int, document: dict[str, Any]) -> None:
        if self.client is None:
            return
        try:
            self.client.set(self.key(order_id), json.dumps(document), ex=self.ttl_seconds)
        except redis.RedisError as error:
            logger.warning("cache write failed: %s", error)

    def invalidate(self, order_id: int) -> None:
        if self.client is None:
            return
        try:
            self.client.delete(self.key(order_id))
        except redis.RedisError as error:
            # A stale entry outlives the outage by at most the TTL.
            logger.warning("cache invalidation failed: %s", error)

    def check(self) -> None:
        if self.client is not None:
            self.client.ping()


def init_app(app: Flask) -> None:
    url = app.config["REDIS_URL"]
    client = None
    if url:
        timeout = float(app.config["CACHE_SOCKET_TIMEOUT_SECONDS"])
        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
    app.extensions[EXTENSION] = OrderCache(client, int(app.config["CACHE_TTL_SECONDS"]))


def order_cache() -> OrderCache:
    instance: OrderCache = current_app.extensions[EXTENSION]
    return instance
