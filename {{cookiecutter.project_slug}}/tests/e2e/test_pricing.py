"""The virtual pricing upstream of the stack made slow, then failing: each create answers within
the bound with a problem (504 too slow, 502 failing), the circuit opens (503 at once) after a few
failures and closes again after its reset time, and the service recovers without a restart. While
it is slow, the requests that do not need it are not kept waiting behind those that do."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.client import Service
from tests.e2e.services.wiremock import FAIL_MAX, READ_TIMEOUT, RESET_SECONDS, Pricing
from tests.e2e.stack import BOUND_SECONDS

OPEN_IN_A_ROW = 4
# Creates at once, fewer than the image's processes x threads (2 x 8), each priced slowly but
# within the read timeout (so no circuit opens): one request at a time per process would queue a
# read behind them for about AT_ONCE / processes x SLOW seconds, 1.8 s with two processes.
AT_ONCE = 12
SLOW = READ_TIMEOUT * 0.6
NOT_KEPT_WAITING_SECONDS = 1.0
FAULTS: list[dict[str, Any]] = [
    {"fault": "CONNECTION_RESET_BY_PEER"},
    {"fault": "EMPTY_RESPONSE"},
    {"status": 500, "body": "failing"},
]


def test_a_slow_then_failing_upstream_opens_the_circuit_which_closes_again(
    service: Service, pricing: Pricing
) -> None:
    pricing.answer_every_price(
        {"status": 200, "fixedDelayMilliseconds": int(READ_TIMEOUT * 4 * 1000)}
    )
    slow = service.create()
    assert (slow.status, slow.problem) == (504, True), slow
    assert slow.seconds < BOUND_SECONDS

    # Each process of the service has its circuit: fail until every one has opened its own
    # (several answers in a row refused at once).
    failing = []
    for attempt in range(10 * FAIL_MAX):
        pricing.answer_every_price(FAULTS[min(attempt, len(FAULTS) - 1)])
        failing.append(service.create())
        if [answer.status for answer in failing[-OPEN_IN_A_ROW:]] == [503] * OPEN_IN_A_ROW:
            break
    statuses = [answer.status for answer in failing]
    assert all(answer.problem and answer.seconds < BOUND_SECONDS for answer in failing), failing
    opened = statuses.index(503)
    assert opened >= FAIL_MAX - 1, statuses  # a few failures first, each a 502
    assert set(statuses[:opened]) <= {502, 503}, statuses  # one process open, another not yet
    assert statuses[-OPEN_IN_A_ROW:] == [503] * OPEN_IN_A_ROW, statuses
    # The circuit is open: the upstream is not even asked.
    assert all(answer.seconds < READ_TIMEOUT for answer in failing[-OPEN_IN_A_ROW:]), failing

    pricing.reset()
    time.sleep(RESET_SECONDS + 0.2)
    recovered = service.create()
    assert recovered.status == 201, recovered


def test_a_slow_upstream_keeps_waiting_only_the_requests_that_need_it(
    service: Service, pricing: Pricing
) -> None:
    pricing.answer_every_price(
        {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "jsonBody": {"unit_price": "12.50", "currency": "EUR"},
            "fixedDelayMilliseconds": int(SLOW * 1000),
        }
    )

    with ThreadPoolExecutor(AT_ONCE) as pool:
        creates = [pool.submit(service.create) for _ in range(AT_ONCE)]
        time.sleep(SLOW / 2)  # every create is now waiting on the upstream
        reads = [service.get("/orders") for _ in range(3)]
        created = [create.result() for create in creates]

    assert {answer.status for answer in created} == {201}, created
    assert {answer.status for answer in reads} == {200}, reads
    assert max(answer.seconds for answer in reads) < NOT_KEPT_WAITING_SECONDS, reads
