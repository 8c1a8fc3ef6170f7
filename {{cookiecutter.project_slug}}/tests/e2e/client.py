"""The service as a client on this machine sees it: HTTP on its published loopback port, every
call bounded, a bounded load of order creations to run while a fault is injected, and probes (or
readers) asking at a steady pace meanwhile.

The standard library is enough here (urllib, threads): the load is a few clients for a few
seconds, and every answer's status and time is what is measured.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.stack import BOUND_SECONDS
from tests.support.api import order_body

# A call gets a little longer than the service's bound, so that a slow answer is measured as
# slow rather than cut off.
CLIENT_TIMEOUT = BOUND_SECONDS + 2.0
PROBLEM_JSON = "application/problem+json"
# All /readyz says of a dependency: never why (a host name, an address, an exception's text).
READINESS_STATES = {"ok", "embedded", "disabled", "failing"}


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer within CLIENT_TIMEOUT (or the connection failed)
    body: Any
    content_type: str
    seconds: float
    began: float = 0.0  # time.time() when sent

    @property
    def problem(self) -> bool:
        return self.content_type.startswith(PROBLEM_JSON)


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the service's own loopback URL
        base_url + path, data=data, method=method, headers=dict(headers or {})
    )
    if data is not None:
        request.add_header("Content-Type", "application/json")
    sent, began = time.time(), time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:  # noqa: S310
            status, raw, kind = (
                response.status,
                response.read(),
                response.headers.get_content_type(),
            )
    except urllib.error.HTTPError as error:
        status, raw, kind = error.code, error.read(), error.headers.get_content_type()
    except (OSError, http.client.HTTPException):  # refused, reset, cut short: no answer
        return Answer(0, None, "", time.perf_counter() - began, sent)
    seconds = time.perf_counter() - began
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, parsed, kind, seconds, sent)


@dataclass
class Service:
    """The orders API of the stack: its replicas, each call to the next in turn, as a load
    balancer would spread them."""

    urls: list[str]
    # What every call to the orders API carries (a caller's credentials).
    headers: dict[str, str] = field(default_factory=dict)
    turns: Iterator[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        return self.urls[next(self.turns) % len(self.urls)]

    def replica(self, index: int) -> Service:
        """One replica alone (``index`` taken round the replicas)."""
        return Service([self.urls[index % len(self.urls)]], self.headers)

    def create(self, key: str | None = None, sku: str = "SKU-1") -> Answer:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        return call(self.url, "POST", "/orders", order_body(sku), headers)

    def get(self, path: str) -> Answer:
        return call(self.url, "GET", path, headers=self.headers)

    def wait_ready(self, timeout: float = 30.0, *, degraded: bool = True) -> Answer:
        """Once every replica is ready (``degraded``: or ready without a dependency it can do
        without): the last readiness answer (the first that was not, if one stayed so for
        ``timeout``)."""
        deadline = time.monotonic() + timeout
        for url in self.urls:
            while not ready(answer := call(url, "GET", "/readyz"), degraded):
                if time.monotonic() > deadline:
                    return answer
                time.sleep(0.1)
        return answer


def ready(answer: Answer, degraded: bool) -> bool:
    return answer.status == 200 and (degraded or answer.body["status"] == "ready")


@dataclass
class Load:
    """What a bounded load sent and got: per Idempotency-Key, every answer (a client retries a
    key that was not answered, as a client should); or, for probes and readers, per client."""

    name: str
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # When a fault was injected and undone under this load (time.time()), if one was.
    fault: tuple[float, float] | None = None

    def record(self, key: str, answer: Answer) -> None:
        with self.lock:
            self.answers.setdefault(key, []).append(answer)

    def all(self) -> list[Answer]:
        return [answer for answers in self.answers.values() for answer in answers]

    def accepted(self) -> dict[str, int]:
        """The order id each key was acknowledged with (201, or 200 for a repeated key)."""
        return {key: min(ids) for key, ids in self.acknowledged().items()}

    def acknowledged(self) -> dict[str, set[int]]:
        """Every order id each key was acknowledged with: one, unless a retry made a second."""
        found: dict[str, set[int]] = {}
        for key, answers in self.answers.items():
            for answer in answers:
                if answer.status in (200, 201):
                    found.setdefault(key, set()).add(answer.body["id"])
        return found

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for answer in self.all():
            counts[answer.status] = counts.get(answer.status, 0) + 1
        return counts

    def slowest(self) -> float:
        return max((answer.seconds for answer in self.all()), default=0.0)

    def during_fault(self) -> list[Answer]:
        """The answers to requests sent while the fault was in place."""
        assert self.fault is not None, f"{self.name}: no fault was injected"
        began, ended = self.fault
        return [answer for answer in self.all() if began <= answer.began < ended]

    def percentile(
        self, fraction: float, status: int | None = None, answers: list[Answer] | None = None
    ) -> float:
        chosen = self.all() if answers is None else answers
        times = sorted(a.seconds for a in chosen if status is None or a.status == status)
        if not times:
            return float("nan")
        return times[min(len(times) - 1, round(fraction * (len(times) - 1)))]

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses().items()))
        return (
            f"{self.name}: {len(self.all())} requests ({statuses}); "
            f"p50 {self.percentile(0.5) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms, "
            f"max {self.slowest() * 1000:.0f} ms"
        )

    def slowest_answers(self, count: int = 3) -> list[tuple[int, float, str]]:
        """The slowest answers: status, seconds, when sent (for a failure's message)."""
        ranked = sorted(self.all(), key=lambda answer: -answer.seconds)[:count]
        return [
            (a.status, round(a.seconds, 3), time.strftime("%H:%M:%S", time.gmtime(a.began)))
            for a in ranked
        ]

    def assert_bounded(self) -> None:
        """No 500, no answer missing or slower than the bound; every failure a problem."""
        failures = [a for a in self.all() if a.status >= 500 or a.status == 0]
        assert all(a.status in (502, 503, 504) and a.problem for a in failures), self.summary()
        assert self.slowest() < BOUND_SECONDS, (self.summary(), self.slowest_answers())


LOADS: list[Load] = []  # every load of the session, for the summary


@contextmanager
def load(service: Service, name: str, clients: int = 4, pause: float = 0.02) -> Iterator[Load]:
    """Creates orders from ``clients`` threads, spread over the service's replicas (each key
    retried, on its thread's replica, until answered 2xx or the block ends) for as long as the
    block runs, then a little longer, so that the load spans the whole fault and its recovery."""
    record = Load(name)
    stop = threading.Event()

    def client(replica: Service) -> None:
        key = uuid.uuid4().hex
        while not stop.is_set():
            answer = replica.create(key)
            record.record(key, answer)
            if answer.status in (200, 201):
                key = uuid.uuid4().hex
            stop.wait(pause)

    threads = [
        threading.Thread(target=client, args=(service.replica(index),), daemon=True)
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        yield record
    finally:
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 1)
        LOADS.append(record)


@contextmanager
def polling(
    service: Service, paths: list[str], name: str, clients: int = 1, interval: float = 0.1
) -> Iterator[Load]:
    """GETs from ``clients`` threads, each on its own replica (taken round the replicas), each
    asking for ``paths`` in turn, one every ``interval`` seconds (at once when it fell behind),
    for as long as the block runs: what an orchestrator's probes, or readers, see meanwhile."""
    record = Load(name)
    stop = threading.Event()

    def client(index: int) -> None:
        replica, began = service.replica(index), time.monotonic()
        for sent, path in enumerate(itertools.cycle(paths)):
            record.record(f"client {index}", replica.get(path))
            if stop.wait(max(0.0, began + (sent + 1) * interval - time.monotonic())):
                return

    threads = [
        threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        yield record
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 1)
        LOADS.append(record)


def assert_readiness(answer: Answer, status: str, *failing: str) -> None:
    """/readyz answered 200 with ``status`` (``ready``, ``degraded``), ``failing`` the dependencies
    it names as degraded and the only ones reported failing, and nothing but each dependency's
    state."""
    assert answer.status == 200, answer
    expected = {"status": status, "checks": answer.body["checks"]}
    if failing:
        expected["degraded"] = list(failing)
    assert answer.body == expected, answer
    assert_only_states(answer)
    assert sorted(n for n, s in answer.body["checks"].items() if s == "failing") == sorted(failing)


def assert_only_states(answer: Answer) -> None:
    """The readiness body names each dependency and its state, and says nothing more of it."""
    checks = answer.body["checks"]
    assert checks, answer
    assert set(checks.values()) <= READINESS_STATES, answer


def eventually(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> float:
    """Seconds until ``check`` held; fails after ``timeout``."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout:g} s")
        time.sleep(interval)
    return time.monotonic() - began
