"""The stack's telemetry as the production entry point exports it to the stand-in OTLP receiver:
a request continues its caller's trace, with the database's calls under it; each gunicorn worker
exports its own request metrics, as a service instance of its own, which add up to what was
asked of the service. Nothing waits on the receiver: while it hangs or is gone, orders are taken as
promptly as ever, and what is traced once it is back reaches it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from tests.e2e.client import Answer, Service, call, outage_under_load, percentile
from tests.e2e.services.telemetry import (
    EXPORT_DELAY_MILLISECONDS,
    EXPORT_TIMEOUT_SECONDS,
    METRIC_INTERVAL_MILLISECONDS,
    SERVICE,
    Collector,
    Exported,
    Point,
)
from tests.e2e.stack import Stack
from tests.support.api import order_body

SERVER, CLIENT = 2, 3  # OTLP's SpanKind values
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
# A batch of spans, or a round of every process's metrics, arrives within a few of its intervals.
SPANS_WITHIN_SECONDS = 20 * EXPORT_DELAY_MILLISECONDS / 1000
METRICS_WITHIN_SECONDS = 5 * METRIC_INTERVAL_MILLISECONDS / 1000
# Requests no other scenario makes (an unknown order), counted per process.
UNKNOWN_ORDER = "/orders/999999999"
ASKED = 12
# The receiver away for a few of the exporters' timeouts: several exports meet it.
OUTAGE_SECONDS = 3 * EXPORT_TIMEOUT_SECONDS
# The median create while the receiver is away: under a tenth of a second on a quiet machine, and
# well below this on a loaded one; an export in each request's way would cost it the exporter's
# timeout (or its retries), all of it.
PROMPT_SECONDS = EXPORT_TIMEOUT_SECONDS / 2
# Once the receiver is back, the exporters' next batch reaches it: after the one that was
# waiting on it gives up, at worst.
TRACED_AGAIN_WITHIN_SECONDS = EXPORT_TIMEOUT_SECONDS + SPANS_WITHIN_SECONDS
Found = TypeVar("Found")


def within(seconds: float, look: Callable[[], Found], done: Callable[[Found], bool]) -> Found:
    """What ``look`` finds once ``done`` says so, or what it last found after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done(found := look()) and time.monotonic() < deadline:
        time.sleep(EXPORT_DELAY_MILLISECONDS / 1000)
    return found


def create_in_trace(service: Service, trace_id: str, caller_span: str) -> Answer:
    """An order created by a caller whose span is ``caller_span`` of trace ``trace_id``."""
    headers = {**service.headers, "traceparent": f"00-{trace_id}-{caller_span}-01"}
    return call("POST", service.url + "/orders", json=order_body(), headers=headers)


def spans_of(collector: Collector, trace_id: str, seconds: float) -> list[Exported]:
    """The spans of the trace the receiver got, once its request's span is among them (or after
    ``seconds``)."""

    def of_the_trace() -> list[Exported]:
        return [span for span in collector.spans() if span.trace_id == trace_id]

    def served(spans: list[Exported]) -> bool:
        return SERVER in {span.kind for span in spans}

    return within(seconds, of_the_trace, served)


def test_a_request_continues_its_callers_trace_with_the_database_calls_under_it(
    service: Service, collector: Collector
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)

    created = create_in_trace(service, trace_id, caller_span)

    assert created.status == 201, created
    spans = spans_of(collector, trace_id, SPANS_WITHIN_SECONDS)
    [request] = [span for span in spans if span.kind == SERVER]
    assert (request.name, request.parent_id) == ("POST /orders", caller_span), spans
    assert request.service == SERVICE_NAME
    under = [span for span in spans if (span.parent_id, span.kind) == (request.span_id, CLIENT)]
    assert any("db.system" in span.attributes for span in under), f"no database call: {spans}"


def counted_per_process(points: list[Point]) -> dict[str, int]:
    """Each process's count of answered unknown orders, as its latest export says (cumulative)."""
    latest: dict[str, int] = {}
    for point in points:
        answered = (point.attributes.get("http.target"), point.attributes.get("http.status_code"))
        if answered == ("/orders/<int:order_id>", 404):
            latest[point.instance] = point.count
    return latest


def test_every_worker_exports_its_requests_and_together_they_count_each_once(
    service: Service, collector: Collector
) -> None:
    def counted() -> dict[str, int]:
        return counted_per_process(collector.points("http.server.duration"))

    # What the processes had counted before: a full round of exports since the journal was emptied.
    time.sleep(2 * METRIC_INTERVAL_MILLISECONDS / 1000)
    before = counted()

    answers = [service.get(UNKNOWN_ORDER).status for _ in range(ASKED)]

    assert answers == [404] * ASKED

    def added(now: dict[str, int]) -> int:
        return sum(count - before.get(instance, 0) for instance, count in now.items())

    after = within(METRICS_WITHIN_SECONDS, counted, lambda now: added(now) >= ASKED)
    assert added(after) == ASKED, (before, after)
    grown = [instance for instance, count in after.items() if count > before.get(instance, 0)]
    # Each call went to the next replica: both replicas' processes counted theirs.
    assert len(grown) >= 2, (before, after)


@pytest.mark.parametrize("kind", ["paused", "stopped"])
def test_orders_are_taken_promptly_while_the_receiver_hangs_or_is_gone_and_traced_once_back(
    kind: str, stack: Stack, service: Service, collector: Collector
) -> None:
    with outage_under_load(stack, service, SERVICE, kind, seconds=OUTAGE_SECONDS) as done:
        pass

    assert set(done.statuses()) == {201}, done.summary()
    done.assert_bounded()
    # (No answer during the outage: NaN, which fails too.)
    assert percentile(done.during_fault(), 0.5) < PROMPT_SECONDS, done.summary()
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    assert create_in_trace(service, trace_id, caller_span).status == 201
    spans = spans_of(collector, trace_id, TRACED_AGAIN_WITHIN_SECONDS)
    assert [span.parent_id for span in spans if span.kind == SERVER] == [caller_span], spans
