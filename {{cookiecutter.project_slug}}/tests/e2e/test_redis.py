"""The cache of the stack stopped or frozen: reads are served from the database within a short
bound, readiness stays 200 and reports the cache degraded, and the cache is used again after."""

from __future__ import annotations

import pytest

from tests.e2e.client import Service, assert_readiness
from tests.e2e.stack import Stack

CACHE = "redis"
# Its name in /readyz.
CHECK = "cache"
# The cache's socket timeout is a fraction of a second: a read without it stays quick.
READ_BOUND_SECONDS = 1.0


@pytest.mark.parametrize("kind", ["stopped", "paused"])
def test_without_the_cache_reads_come_from_the_database_quickly(
    kind: str, stack: Stack, service: Service
) -> None:
    order = service.create().body

    with stack.fault(CACHE, kind):
        reads = [service.get(f"/orders/{order['id']}") for _ in range(3)]
        ready = service.get("/readyz")

    assert [(read.status, read.body) for read in reads] == [(200, order)] * 3
    assert max(read.seconds for read in reads) < READ_BOUND_SECONDS
    assert_readiness(ready, "degraded", CHECK)
    assert_readiness(service.wait_ready(degraded=False), "ready")
