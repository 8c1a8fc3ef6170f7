"""The stack's telemetry as the production entry point exports it to the stand-in OTLP receiver:
a request continues its caller's trace, with the database's calls under it; each gunicorn worker
exports its own request metrics, as a service instance of its own, which add up to what was
asked of the service."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from tests.e2e.client import Service, call
from tests.e2e.services.telemetry import (
    EXPORT_DELAY_MILLISECONDS,
    METRIC_INTERVAL_MILLISECONDS,
    Collector,
    Exported,
    Point,
)
from tests.support.api import order_body

SERVER, CLIENT = 2, 3  # OTLP's SpanKind values
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
# A batch of spans, or a round of every process's metrics, arrives within a few of its intervals.
SPANS_WITHIN_SECONDS = 20 * EXPORT_DELAY_MILLISECONDS / 1000
METRICS_WITHIN_SECONDS = 5 * METRIC_INTERVAL_MILLISECONDS / 1000
# Requests no other scenario makes (an unknown order), counted per process.
UNKNOWN_ORDER = "/orders/999999999"
ASKED = 12
Found = TypeVar("Found")


def within(seconds: float, look: Callable[[], Found], done: Callable[[Found], bool]) -> Found:
    """What ``look`` finds once ``done`` says so, or what it last found after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done(found := look()) and time.monotonic() < deadline:
        time.sleep(EXPORT_DELAY_MILLISECONDS / 1000)
    return found


def test_a_request_continues_its_callers_trace_with_the_database_calls_under_it(
    service: Service, collector: Collector
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    headers = {**service.headers, "traceparent": f"00-{trace_id}-{caller_span}-01"}

    created = call("POST", service.url + "/orders", json=order_body(), headers=headers)

    assert created.status == 201, created

    def of_the_trace() -> list[Exported]:
        return [span for span in collector.spans() if span.trace_id == trace_id]

    def served(spans: list[Exported]) -> bool:
        return SERVER in {span.kind for span in spans}

    spans = within(SPANS_WITHIN_SECONDS, of_the_trace, served)
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
