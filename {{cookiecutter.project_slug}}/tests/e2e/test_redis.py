"""The cache of the stack stopped or frozen: reads are served from the database within a short
bound, readiness stays 200 and reports the cache degraded, and the cache is used again after."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.dependencies.cache import SETTINGS
from tests.e2e.client import Service, assert_readiness
from tests.e2e.stack import Stack

CACHE = "redis"
# Its name in /readyz.
CHECK = "cache"
# A read without the cache tries it twice (the read, then the fill). Frozen, each try is cut at
# the cache's socket timeout (the stack keeps the default); stopped, its name may take the
# resolver's timeout to fail (compose.yaml's dns_opt) before any socket is opened. The margin is
# for a loaded two-core runner, where a prompt read has taken 0.7 s; a client that waits its
# library's default retries and back-off (seconds) or has no socket timeout (frozen: forever)
# still fails it.
RESOLVER_TIMEOUT_SECONDS = 1.0
TRY_BOUND_SECONDS = {
    "paused": SETTINGS["CACHE_SOCKET_TIMEOUT_SECONDS"],
    "stopped": RESOLVER_TIMEOUT_SECONDS,
}
MARGIN_SECONDS = 1.0


@pytest.mark.parametrize("kind", ["stopped", "paused"])
def test_without_the_cache_reads_come_from_the_database_quickly(
    kind: str, stack: Stack, service: Service
) -> None:
    order = service.create().body

    with stack.fault(CACHE, kind):
        reads = [service.get(f"/orders/{order['id']}") for _ in range(3)]
        ready = service.get("/readyz")

    assert [(read.status, read.body) for read in reads] == [(200, order)] * 3
    seconds = [read.seconds for read in reads]
    assert max(seconds) < 2 * TRY_BOUND_SECONDS[kind] + MARGIN_SECONDS, seconds
    assert_readiness(ready, "degraded", CHECK)
    assert_readiness(service.wait_ready(degraded=False), "ready")
