"""The service as a client on this machine sees it: HTTP to its replicas in turn, every call bounded,
and clients in threads calling it while a fault is injected, each answer's status and time kept."""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.e2e.stack import BOUND_SECONDS, Query, Stack
from tests.support.api import order_body
from tests.support.readiness import assert_states_only

# A call gets a little longer than the service's bound, so that a slow answer is measured as
# slow rather than cut off.
CLIENT_TIMEOUT = BOUND_SECONDS + 2.0
# A load runs this long before a fault and after it, so that it spans the fault and the recovery.
LOAD_MARGIN_SECONDS = 0.5


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer within CLIENT_TIMEOUT (or the connection failed)
    body: Any
    problem: bool  # an application/problem+json document
    seconds: float
    began: float  # time.time() when sent


def call(method: str, url: str, **options: Any) -> Answer:
    began, started = time.time(), time.perf_counter()
    try:
        response = requests.request(method, url, timeout=CLIENT_TIMEOUT, **options)
    except requests.RequestException:  # refused, reset, cut short: no answer
        return Answer(0, None, False, time.perf_counter() - started, began)
    kind = response.headers.get("Content-Type", "")
    body = response.json() if "json" in kind else response.text
    problem = kind.startswith("application/problem+json")
    return Answer(response.status_code, body, problem, time.perf_counter() - started, began)


@dataclass
class Service:
    """The orders API of the stack: each call to the next replica in turn, as a load balancer would
    spread them, with ``headers`` (a caller's credentials)."""

    urls: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    turns: Iterator[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        return self.urls[next(self.turns) % len(self.urls)]

    def replica(self, index: int) -> Service:
        return Service([self.urls[index % len(self.urls)]], self.headers)

    def get(self, path: str) -> Answer:
        return call("GET", self.url + path, headers=self.headers)

    def create(self, key: str | None = None) -> Answer:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        return call("POST", self.url + "/orders", json=order_body(), headers=headers)

    def wait_ready(self, timeout: float = 30.0, *, degraded: bool = True) -> Answer:
        """Once every replica is ready (``degraded``: or ready without a dependency it can do
        without): the last readiness answer, or the first not ready for ``timeout``."""
        deadline = time.monotonic() + timeout
        for url in self.urls:
            while not ready(answer := call("GET", url + "/readyz"), degraded):
                if time.monotonic() > deadline:
                    return answer
                time.sleep(0.1)
        return answer


def ready(answer: Answer, degraded: bool) -> bool:
    return answer.status == 200 and (degraded or answer.body["status"] == "ready")


@dataclass
class Load:
    """What clients sent and got: every answer per Idempotency-Key (per client, for reads)."""

    name: str
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # When a fault was injected and undone under this load (time.time()), if one was.
    fault: tuple[float, float] = (math.nan, math.nan)

    def record(self, key: str, answer: Answer) -> None:
        with self.lock:
            self.answers.setdefault(key, []).append(answer)

    def all(self) -> list[Answer]:
        return [answer for answers in self.answers.values() for answer in answers]

    def acknowledged(self) -> dict[str, set[int]]:
        """Every order id each key was acknowledged with (201, or 200 for a repeated key)."""
        ok = (200, 201)
        ids = {key: {a.body["id"] for a in v if a.status in ok} for key, v in self.answers.items()}
        return {key: found for key, found in ids.items() if found}

    def accepted(self) -> list[int]:
        """The order each acknowledged key made, sorted."""
        return sorted(min(ids) for ids in self.acknowledged().values())

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.all())

    def slowest(self) -> float:
        return max((answer.seconds for answer in self.all()), default=0.0)

    def during_fault(self) -> list[Answer]:
        return [answer for answer in self.all() if self.fault[0] <= answer.began < self.fault[1]]

    def failures(self) -> Counter[str]:
        """Each failure's status and what it said (a problem's detail), counted."""
        return Counter(
            f"{answer.status} {failure_reason(answer)}"
            for answer in self.all()
            if answer.status == 0 or answer.status >= 400
        )

    def summary(self) -> str:
        p50, p99 = (percentile(self.all(), share) * 1000 for share in (0.5, 0.99))
        failures = "".join(f"; {count} x {reason}" for reason, count in self.failures().items())
        return (
            f"{self.name}: {len(self.all())} requests ({dict(sorted(self.statuses().items()))});"
            f" p50 {p50:.0f} ms, p99 {p99:.0f} ms, slowest {self.slowest() * 1000:.0f} ms"
            f"{failures}"
        )

    def assert_bounded(self) -> None:
        """No 500, no answer missing or slower than the bound; every failure a problem."""
        failures = [a for a in self.all() if a.status >= 500 or a.status == 0]
        assert all(a.status in (502, 503, 504) and a.problem for a in failures), self.summary()
        assert self.slowest() < BOUND_SECONDS, self.summary()


def failure_reason(answer: Answer) -> str:
    if answer.status == 0:
        return "no answer"
    if answer.problem:
        return str(answer.body.get("detail") or answer.body.get("title"))
    return str(answer.body)[:80]


def percentile(answers: list[Answer], fraction: float) -> float:
    times = sorted(answer.seconds for answer in answers) or [math.nan]
    return times[round(fraction * (len(times) - 1))]


LOADS: list[Load] = []  # every load of the session, for the summary


@contextmanager
def clients(
    name: str, count: int, client: Callable[[int, Load, threading.Event], None]
) -> Iterator[Load]:
    """``client(index, load, stop)`` run in ``count`` threads, stopped when the block ends."""
    record, stop = Load(name), threading.Event()
    with ThreadPoolExecutor(count) as pool:
        running = [pool.submit(client, index, record, stop) for index in range(count)]
        try:
            yield record
        finally:
            stop.set()
    LOADS.append(record)
    for done in running:
        done.result()  # a client's own error fails the test


@contextmanager
def load(service: Service, name: str, count: int = 4, pause: float = 0.02) -> Iterator[Load]:
    """Creates orders from ``count`` clients, each on its replica, each key retried (as a client
    should) until answered 2xx, for as long as the block runs and half a second longer, so that the
    load spans a fault and the recovery from it."""

    def create(index: int, record: Load, stop: threading.Event) -> None:
        replica, key = service.replica(index), uuid.uuid4().hex
        while not stop.wait(pause):
            record.record(key, answer := replica.create(key))
            if answer.status in (200, 201):
                key = uuid.uuid4().hex

    with clients(name, count, create) as record:
        yield record
        time.sleep(LOAD_MARGIN_SECONDS)


@contextmanager
def outage_under_load(
    stack: Stack, service: Service, dependency: str, kind: str, seconds: float
) -> Iterator[Load]:
    """A load that runs before, through and after ``dependency`` is made unavailable (``kind``)
    for ``seconds`` (a few of the bounds the service waits on it, as its settings in the stack
    say); the block runs once the dependency is back."""
    with load(service, f"{dependency} {kind}") as running:
        time.sleep(LOAD_MARGIN_SECONDS)
        with stack.fault(dependency, kind):
            began = time.time()
            time.sleep(seconds)
        running.fault = (began, time.time())
        yield running


def assert_each_accepted_order_stored_once(done: Load, query: Query) -> None:
    acknowledged = done.acknowledged()
    assert acknowledged, f"no order was accepted: {done.summary()}"
    # A key retried after a lost answer is acknowledged with the order it made, never a second.
    assert {key: ids for key, ids in acknowledged.items() if len(ids) > 1} == {}, done.summary()
    ids = done.accepted()
    assert len(set(ids)) == len(ids), f"keys acknowledged with one order: {done.summary()}"
    # By id: the service keeps an Idempotency-Key as its caller's own, not as the client sent it.
    listed = ", ".join(map(str, ids))
    stored = query(f"SELECT id FROM orders WHERE id IN ({listed}) ORDER BY id")  # noqa: S608
    assert [int(order_id) for order_id, *_ in stored] == ids, done.summary()


def assert_readiness(answer: Answer, status: str, *failing: str) -> None:
    """/readyz answered 200 with ``status``, ``failing`` the dependencies it names as degraded and
    the only ones reported failing, and nothing but each one's state."""
    assert answer.status == 200, answer
    degraded = {"degraded": list(failing)} if failing else {}
    assert answer.body == {"status": status, "checks": answer.body["checks"], **degraded}, answer
    assert answer.body["checks"], answer
    assert_states_only(answer.body)
    assert sorted(n for n, s in answer.body["checks"].items() if s == "failing") == sorted(failing)
