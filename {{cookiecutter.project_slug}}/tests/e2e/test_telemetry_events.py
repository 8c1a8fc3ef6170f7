"""Every order is one trace, exported by the stack's processes to its stand-in OTLP receiver: the
request's span (the service) and the relay's publish span (a worker), its child, under load and
across a broker outage that strands the event until the broker is back."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.e2e.client import Service, load
from tests.e2e.services.rabbitmq import OUTAGE_SECONDS, PUBLISHED_WITHIN_SECONDS, EventQueue
from tests.e2e.services.rabbitmq import SERVICE as BROKER
from tests.e2e.services.telemetry import EXPORT_DELAY_MILLISECONDS, Collector, Exported
from tests.e2e.stack import Stack

SERVER, PRODUCER = 2, 4  # OTLP's SpanKind values
LOAD_SECONDS = 2.0
# The spans of the last event published are exported within a few of the processes' batches.
EXPORTED_WITHIN_SECONDS = 20 * EXPORT_DELAY_MILLISECONDS / 1000


def parent_of(message: Any) -> tuple[str, str]:
    """The trace id and parent span id a message's ``traceparent`` header names."""
    _version, trace_id, span_id, _flags = message.headers["traceparent"].split("-")
    return trace_id, span_id


def missing_from_traces(collector: Collector, messages: list[Any]) -> dict[int, str]:
    """For each message whose trace the receiver does not hold whole, its order and what is
    missing: the publish span the message names, a child of the service's ``POST /orders``."""
    traces = collector.traces()
    missing = {}
    for message in messages:
        order = json.loads(message.body)["id"]
        trace_id, publish_id = parent_of(message)
        spans = {span.span_id: span for span in traces.get(trace_id, [])}
        publish: Exported | None = spans.get(publish_id)
        if publish is None or publish.kind != PRODUCER:
            missing[order] = f"no publish span {publish_id} in trace {trace_id}"
            continue
        request = spans.get(publish.parent_id)
        if request is None or (request.kind, request.name) != (SERVER, "POST /orders"):
            missing[order] = f"no POST /orders span {publish.parent_id} in trace {trace_id}"
        elif publish.attributes.get("messaging.message.id") != message.properties["message_id"]:
            missing[order] = f"publish span {publish_id} names another message"
    return missing


def wait_for_traces(collector: Collector, messages: list[Any]) -> dict[int, str]:
    deadline = time.monotonic() + EXPORTED_WITHIN_SECONDS
    while (missing := missing_from_traces(collector, messages)) and time.monotonic() < deadline:
        time.sleep(EXPORT_DELAY_MILLISECONDS / 1000)
    return missing


def test_under_load_every_order_is_one_trace_from_its_request_to_its_publication(
    service: Service, event_queue: EventQueue, collector: Collector
) -> None:
    with load(service, "traced") as done:
        time.sleep(LOAD_SECONDS)
    accepted = set(done.accepted())
    messages = event_queue.take(len(accepted), timeout=PUBLISHED_WITHIN_SECONDS)
    announced = [m for m in messages if json.loads(m.body)["id"] in accepted]

    assert {json.loads(m.body)["id"] for m in announced} == accepted, done.summary()
    assert len(accepted) >= 10, done.summary()
    assert wait_for_traces(collector, announced) == {}


def test_an_event_stranded_by_a_broker_outage_keeps_its_trace(
    stack: Stack, service: Service, event_queue: EventQueue, collector: Collector
) -> None:
    with stack.fault(BROKER, "stopped"):
        created = service.create()
        assert created.status == 201, created
        time.sleep(OUTAGE_SECONDS)  # the relays' passes fail meanwhile

    [message] = event_queue.take(1, timeout=PUBLISHED_WITHIN_SECONDS)

    assert json.loads(message.body)["id"] == created.body["id"]
    assert wait_for_traces(collector, [message]) == {}
