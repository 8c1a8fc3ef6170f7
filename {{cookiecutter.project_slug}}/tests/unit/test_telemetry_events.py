"""An event carries the trace of the request that recorded it: the outbox row keeps the request's
context, and the relay publishes in that trace, as a child of the request's span, whatever broker
outage came between; the message carries the publication's span to its consumers."""

from __future__ import annotations

import json

from flask import Flask
from opentelemetry.trace import SpanKind

from tests.support.api import Orders
from tests.support.telemetry import Spans, ids, parent_of
from tests.unit.fakes.events import Broker, broker_taking_only, outbox, relay


def recorded_headers(app: Flask) -> dict[str, str]:
    [event] = outbox(app)
    headers: dict[str, str] = json.loads(event["headers"])
    return headers


def test_the_outbox_row_keeps_the_context_of_the_request_that_recorded_it(
    app: Flask, orders: Orders, spans: Spans
) -> None:
    orders.created()

    trace_id, parent_id = parent_of(recorded_headers(app)["traceparent"])
    assert (trace_id, parent_id) == ids(spans.server())


def test_the_relay_publishes_in_the_trace_of_the_request_as_its_child(
    app: Flask, orders: Orders, spans: Spans, fake_broker: Broker
) -> None:
    orders.created()

    assert relay(app) == 1

    request = spans.server()
    [publish] = spans.named("publish order.created")
    [message] = fake_broker.messages()
    assert publish.kind is SpanKind.PRODUCER
    assert publish.context.trace_id == request.context.trace_id
    assert publish.parent is not None
    assert publish.parent.span_id == request.context.span_id
    # What a back end groups and finds publications by (OpenTelemetry's messaging conventions).
    assert dict(publish.attributes or {}) == {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "send",
        "messaging.destination.name": "order.created",
        "messaging.message.id": message.properties["message_id"],
    }
    # Consumers continue from the publication.
    assert parent_of(message.headers["traceparent"]) == ids(publish)


def test_a_relay_pass_makes_no_trace_of_its_own(
    app: Flask, orders: Orders, spans: Spans, fake_broker: Broker
) -> None:
    orders.created()
    request = spans.server()

    relay(app)
    relay(app)  # finds nothing

    assert {span.context.trace_id for span in spans.finished()} == {request.context.trace_id}


def test_a_refused_publication_and_the_later_one_are_both_in_the_request_trace(
    app: Flask, orders: Orders, spans: Spans, fake_broker: Broker
) -> None:
    orders.created()
    request = spans.server()

    with broker_taking_only(0):
        assert relay(app) == 0
    assert relay(app) == 1

    refused, published = spans.named("publish order.created")
    for publish in (refused, published):
        assert publish.context.trace_id == request.context.trace_id
        assert publish.parent is not None
        assert publish.parent.span_id == request.context.span_id
    assert not refused.status.is_ok
    assert published.status.is_ok
    [message] = fake_broker.messages()
    assert parent_of(message.headers["traceparent"]) == ids(published)
