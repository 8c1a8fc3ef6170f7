"""The trace of a request, carried by the events it records to their publication.

kombu has no instrumentation, and the relay publishes long after the request, in another process:
the context is injected into the event's headers where it is recorded, kept with the outbox row,
and extracted where the relay publishes it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import SpanKind

from .. import wiring


def trace_headers() -> dict[str, str]:
    """The current trace as W3C ``traceparent`` (and ``tracestate``) headers: recorded with an
    event, so that its publication joins the trace of the request that recorded it."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


def publishing(routing_key: str, properties: dict[str, Any]) -> AbstractContextManager[object]:
    """The relay's span for one message, in the trace its headers name.

    A child of the span that recorded the event, not a link: each event is published once (at
    least), by itself, so the request that recorded it is its one cause, and a child keeps it in
    that request's trace, where whoever follows an order looks; a link would start a trace of its
    own per publication. The message then carries the publication's span, which its consumers
    continue from. A publication that failed (the broker down) is a span with an error; the one
    that later succeeds is another child of the same request's span."""
    headers = properties.setdefault("headers", {})
    span = trace.get_tracer(__name__).start_span(
        f"publish {routing_key}",
        context=extract(headers),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "send",
            "messaging.destination.name": routing_key,
            "messaging.message.id": str(properties.get("message_id", "")),
        },
    )
    inject(headers, context=trace.set_span_in_context(span))
    # Current while the message goes; ended, with the error if the broker refused it, after.
    return trace.use_span(span, end_on_exit=True)


def through_events(connected: wiring.Wiring) -> None:
    connected.message_headers.append(trace_headers)
    connected.publishing.append(publishing)
    # A relay pass records no span of its own, nor its queries: an idle worker would make a
    # trace of every look at the outbox, several a second. What a pass does for an event is its
    # publication's span, in the event's own trace, which is made regardless.
    connected.relaying.append(suppress_instrumentation)
