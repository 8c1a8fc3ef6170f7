"""The pricing request the real HTTP server received carries the trace of the order's request:
WireMock's journal shows its W3C ``traceparent`` header, naming the client call's span, a child
of the request's."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tests.fixtures.wiremock import Stubs
from tests.support.api import Orders
from tests.support.telemetry import Spans, ids, parent_of


def test_the_upstream_receives_the_trace_of_the_order_request(
    orders: Orders, pricing_stubs: Stubs, spans: Spans
) -> None:
    orders.created(sku="ABC-1")

    [received] = pricing_stubs.requests("/prices/ABC-1")
    headers = {name.lower(): value for name, value in received.headers.items()}
    trace_id, parent_id = parent_of(str(headers["traceparent"]))
    request = spans.server()
    [call] = [span for span in spans.finished() if span.kind is SpanKind.CLIENT
              and "/prices/ABC-1" in str((span.attributes or {}).get("http.url", ""))]  # fmt: skip
    assert trace_id == ids(request)[0]
    assert parent_id == ids(call)[1]
    assert call.parent is not None
    assert call.parent.span_id == request.context.span_id
