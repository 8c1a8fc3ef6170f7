"""Redis, for the unit layer: fakeredis, handed to the service by a patched ``Redis.from_url``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import fakeredis
import pytest
import redis

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["fake_cache_reset", "fake_cache_settings", "fake_redis", "fake_redis_server"]

REDIS_URL = "redis://cache.test:6379/0"
# Not the default, so that a test can tell the setting was taken.
CACHE_TTL_SECONDS = 45


@pytest.fixture(scope="package")
def fake_redis_server() -> Iterator[fakeredis.FakeServer]:
    """The server behind the service's cache; ``fake_redis_server.connected = False`` makes every call
    fail as an unreachable server would."""
    server = fakeredis.FakeServer()
    with mock.patch.object(
        redis.Redis, "from_url", side_effect=lambda *_a, **_k: fakeredis.FakeRedis(server=server)
    ):
        yield server


@pytest.fixture(scope="package")
def fake_redis(fake_redis_server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    """A client of the tests' own, to look at what the service cached."""
    return fakeredis.FakeRedis(server=fake_redis_server)


@pytest.fixture(scope="package")
def fake_cache_settings(fake_redis_server: fakeredis.FakeServer) -> dict[str, Any]:
    return {"REDIS_URL": REDIS_URL, "CACHE_TTL_SECONDS": CACHE_TTL_SECONDS}


@pytest.fixture
def fake_cache_reset(
    fake_redis_server: fakeredis.FakeServer, fake_redis: fakeredis.FakeRedis
) -> None:
    """The server outlives each test: every test finds it reachable and empty."""
    fake_redis_server.connected = True
    fake_redis.flushall()
