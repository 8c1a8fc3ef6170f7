"""The virtual pricing upstream of the stack made slow, then failing: each create answers within
the bound with a problem (504 too slow, 502 failing), the circuit opens (503 at once) after a few
failures and closes again after its reset time, and the service recovers without a restart. While
it is slow, the requests that do not need it are not kept waiting behind those that do, however
many wait on it; while it hangs, every readiness probe is answered within the readiness deadline,
blaming it alone."""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.client import Load, Service, assert_readiness, clients, load
from tests.e2e.services.wiremock import FAIL_MAX, READ_TIMEOUT, RESET_SECONDS, SERVICE
from tests.e2e.stack import APP_REPLICAS, BOUND_SECONDS, READINESS_SECONDS, Stack

OPEN_IN_A_ROW = 4
FAULTS: list[dict[str, Any]] = [
    {"fault": "CONNECTION_RESET_BY_PEER"},
    {"fault": "EMPTY_RESPONSE"},
    {"status": 500, "body": "failing"},
]
# Creates priced slowly but within the read timeout (so no circuit opens), from more clients per
# replica than a process of the image has threads (gunicorn: 2 processes of 8 threads): both
# processes, and their threads, must take them. A read may wait for one create to free a thread
# (a process takes connections beyond its threads), never for several: one request at a time per
# replica would keep it waiting behind the others, about (SLOW_PER_REPLICA - 1) x SLOW, 2.7 s. The
# bound is half that: a loaded two-core runner has made a prompt read take 0.7 s.
SLOW = READ_TIMEOUT * 0.6
SLOW_PER_REPLICA = 10
# Long enough for several rounds of slow creates, and reads among them.
SLOWED_FOR_SECONDS = SLOW * 4
READ_BOUND_SECONDS = (SLOW_PER_REPLICA - 1) * SLOW / 2
# A hung upstream takes connections, and answers long after the read timeout, or never.
HUNG_SECONDS = READ_TIMEOUT * 10
PROBERS = 4
# An orchestrator's probes, as often as the readiness deadline: each prober has one in flight
# at a time.
PROBE_INTERVAL = READINESS_SECONDS
# Every probe is answered by the readiness deadline; the margin is for a loaded machine.
PROBE_BOUND_SECONDS = READINESS_SECONDS + 0.5
# Hung for a few readiness deadlines: each prober meets the hang several times.
HUNG_FOR_SECONDS = 3 * READINESS_SECONDS
# The upstream's name in /readyz.
CHECK = "pricing"
RECOVERED_WITHIN_SECONDS = HUNG_SECONDS + 5.0


class Pricing:
    """WireMock's admin API: stubs that win over the project's mappings, and a reset to them."""

    def __init__(self, url: str) -> None:
        self.admin = f"{url}/__admin"

    def answer(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        mapping = {"priority": 1, "request": request, "response": response}
        requests.post(f"{self.admin}/mappings", json=mapping, timeout=5).raise_for_status()

    def answer_every_price(self, response: dict[str, Any]) -> None:
        self.answer({"method": "GET", "urlPathPattern": "/prices/.*"}, response)

    def reset(self) -> None:
        requests.post(f"{self.admin}/mappings/reset", timeout=5).raise_for_status()


@pytest.fixture
def pricing(pricing_url: str) -> Iterator[Pricing]:
    upstream = Pricing(pricing_url)
    yield upstream
    upstream.reset()


@contextlib.contextmanager
def polling(
    service: Service, paths: list[str], name: str, count: int = 1, interval: float = 0.1
) -> Iterator[Load]:
    """GETs ``paths`` in turn from ``count`` clients, each on its replica, one every ``interval``
    seconds (at once when it fell behind), for as long as the block runs: what an orchestrator's
    probes, or readers, see meanwhile."""

    def poll(index: int, record: Load, stop: threading.Event) -> None:
        replica, began = service.replica(index), time.monotonic()
        for sent, path in enumerate(itertools.cycle(paths), 1):
            record.record(f"client {index}", replica.get(path))
            if stop.wait(began + sent * interval - time.monotonic()):
                return

    with clients(name, count, poll) as record:
        yield record


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


def test_reads_stay_prompt_while_more_orders_wait_on_the_upstream_than_a_process_has_threads(
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

    creators = SLOW_PER_REPLICA * APP_REPLICAS
    with load(service, "creates, pricing slow", count=creators, pause=0) as creates:
        time.sleep(SLOW)  # every client is now waiting on the upstream
        paths = ["/orders", "/healthz"]
        with polling(service, paths, "reads beside slow creates", count=APP_REPLICAS) as reads:
            time.sleep(SLOWED_FOR_SECONDS)

    print(f"\n{creates.summary()}\n{reads.summary()}")
    assert set(reads.statuses()) == {200}, reads.summary()
    assert reads.slowest() < READ_BOUND_SECONDS, reads.summary()
    assert set(creates.statuses()) == {201}, creates.summary()
    assert min(answer.seconds for answer in creates.all()) >= SLOW, creates.summary()
    # Side by side: one create at a time per replica would have made about a tenth of these.
    least = creators * SLOWED_FOR_SECONDS / SLOW / 2
    served = len(creates.all())
    assert served >= least, f"creates not served side by side: {creates.summary()}"


@contextlib.contextmanager
def hung(stack: Stack, pricing: Pricing, kind: str) -> Iterator[None]:
    """The upstream hung for the block: its answers delayed far beyond the read timeout, or its
    container frozen (connections accepted, nothing answered)."""
    if kind == "paused":
        with stack.fault(SERVICE, "paused"):
            yield
        return
    delayed = {"status": 200, "fixedDelayMilliseconds": int(HUNG_SECONDS * 1000)}
    pricing.answer_every_price(delayed)
    pricing.answer({"method": "GET", "url": "/health"}, delayed)
    try:
        yield
    finally:
        pricing.reset()


@pytest.mark.parametrize("kind", ["delayed", "paused"])
def test_every_readiness_probe_is_answered_in_time_blaming_only_a_hung_upstream(
    kind: str, stack: Stack, service: Service, pricing: Pricing
) -> None:
    # From a stack whose every dependency answers: whatever is degraded next is the upstream's.
    assert_readiness(service.wait_ready(degraded=False), "ready")
    name = f"readiness, pricing {kind}"
    with (
        hung(stack, pricing, kind),
        polling(service, ["/readyz"], name, count=PROBERS, interval=PROBE_INTERVAL) as probes,
    ):
        time.sleep(HUNG_FOR_SECONDS)

    answers = probes.all()
    states = Counter(a.body["status"] if a.status == 200 else str(a.status) for a in answers)
    answered = sum(answer.status != 0 for answer in answers)
    print(
        f"\n{name} for {HUNG_FOR_SECONDS:g} s, {PROBERS} probers every {PROBE_INTERVAL:g} s:"
        f" {len(answers)} probes sent, {answered} answered, {dict(states)}; {probes.summary()}"
    )
    # Each prober kept probing: with every answer within the bound, a prober that began a probe
    # every interval had begun this many by the end, however loaded the machine.
    least = PROBERS * math.ceil(HUNG_FOR_SECONDS / max(PROBE_INTERVAL, PROBE_BOUND_SECONDS))
    assert len(answers) >= least, probes.summary()
    for answer in answers:
        assert_readiness(answer, "degraded", CHECK)
    assert probes.slowest() < PROBE_BOUND_SECONDS, probes.summary()
    # Back: every replica reports it answering again.
    recovered = service.wait_ready(RECOVERED_WITHIN_SECONDS, degraded=False)
    assert_readiness(recovered, "ready")
