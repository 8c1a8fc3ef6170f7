"""The message taken from the real broker carries the trace of the request that created its order:
its ``traceparent`` header names the relay's publish span, a child of that request's span."""

from __future__ import annotations

from flask import Flask
from opentelemetry.trace import SpanKind

from tests.fixtures.rabbitmq import EventQueue, relay
from tests.support.api import Orders
from tests.support.telemetry import Spans, ids, parent_of


def test_the_message_carries_the_trace_of_the_request_that_created_its_order(
    app: Flask, orders: Orders, order_events: EventQueue, spans: Spans
) -> None:
    orders.created()
    assert relay(app) == 1

    [message] = order_events.take(1)

    request = spans.server()
    [publish] = spans.named("publish order.created")
    assert publish.kind is SpanKind.PRODUCER
    assert publish.parent is not None
    assert publish.parent.span_id == request.context.span_id
    assert parent_of(message.headers["traceparent"]) == ids(publish)
    assert ids(publish)[0] == ids(request)[0]
