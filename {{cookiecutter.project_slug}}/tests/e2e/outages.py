"""Scenarios every dependency shares: an outage (paused, stopped, disconnected from the stack's
network) while a bounded load creates orders, and what must hold afterwards."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from tests.e2e.client import Load, Service, load
from tests.e2e.stack import Query, Stack

FAULTS = ["paused", "stopped", "disconnected"]
OUTAGE_SECONDS = 2.5


def fault(stack: Stack, service: str, kind: str) -> contextlib.AbstractContextManager[None]:
    faults = {"paused": stack.paused, "stopped": stack.stopped, "disconnected": stack.disconnected}
    return faults[kind](service)


@contextlib.contextmanager
def outage_under_load(
    stack: Stack, service: Service, dependency: str, kind: str, seconds: float = OUTAGE_SECONDS
) -> Iterator[Load]:
    """A load that runs before, through and after ``dependency`` is made unavailable (``kind``)
    for ``seconds``; the block runs once the dependency is back."""
    with load(service, f"{dependency} {kind}") as running:
        time.sleep(0.5)
        with fault(stack, dependency, kind):
            began = time.time()
            print(f"\n{dependency} {kind} at {time.strftime('%H:%M:%S', time.gmtime())}")
            time.sleep(seconds)
        running.fault = (began, time.time())
        print(f"{dependency} back at {time.strftime('%H:%M:%S', time.gmtime())}")
        yield running


def stored_orders(query: Query, ids: list[int]) -> list[int]:
    """Which of ``ids`` are stored, in order. By id: the service keeps an Idempotency-Key as its
    caller's own (a digest of both), not as the client sent it."""
    if not ids:
        return []
    listed = ", ".join(str(int(order_id)) for order_id in ids)
    rows = query(f"SELECT id FROM orders WHERE id IN ({listed}) ORDER BY id")  # noqa: S608
    return [int(order_id) for order_id, *_ in rows]


def assert_each_accepted_order_stored_once(done: Load, query: Query) -> None:
    acknowledged = done.acknowledged()
    assert acknowledged, f"no order was accepted: {done.summary()}"
    # A key retried after a lost answer is acknowledged with the order it made, never a second.
    assert {key: ids for key, ids in acknowledged.items() if len(ids) > 1} == {}, done.summary()
    ids = sorted(done.accepted().values())
    assert len(set(ids)) == len(ids), f"keys acknowledged with one order: {done.summary()}"
    assert stored_orders(query, ids) == ids, done.summary()


def assert_database_outage_is_bounded_and_recovers(
    stack: Stack, service: Service, database: str, query: Query, kind: str
) -> None:
    """While the database server is unavailable every request answers within the bound, with a
    503 problem when it needs the database; afterwards the service recovers by itself (no
    restart) and every order it acknowledged is stored once."""
    with outage_under_load(stack, service, database, kind) as done:
        pass

    done.assert_bounded()
    # The outage was felt: answered as unavailable, or held up (a frozen server may be back
    # before a wait's bound runs out).
    felt = done.statuses().get(503) or done.slowest() > 1.0
    assert felt, f"the outage was not felt: {done.summary()}"
    assert service.wait_ready(timeout=10).status == 200
    assert service.create().status == 201
    assert_each_accepted_order_stored_once(done, query)
