"""The pricing call in the request's trace: the W3C ``traceparent`` it sends the upstream names
the call's span, a child of the request's; a failing call is counted as one."""

from __future__ import annotations

import responses
from opentelemetry.trace import SpanKind

from tests.support.api import Orders
from tests.support.telemetry import Metrics, Spans, ids, parent_of
from tests.unit.fakes.pricing import PRICING_URL


def test_the_pricing_call_carries_the_request_trace_to_the_upstream(
    orders: Orders, spans: Spans, upstream: responses.RequestsMock
) -> None:
    orders.created()

    [call] = [c for c in upstream.calls if "/prices/" in str(c.request.url)]
    trace_id, parent_id = parent_of(str(call.request.headers["traceparent"]))
    request = spans.server()
    [client] = [span for span in spans.finished() if span.kind is SpanKind.CLIENT
                and str((span.attributes or {}).get("http.url", "")).startswith(PRICING_URL)]  # fmt: skip
    assert trace_id == ids(request)[0]
    # The upstream's span is a child of the call's, itself a child of the request's.
    assert parent_id == ids(client)[1]
    assert client.parent is not None
    assert client.parent.span_id == request.context.span_id


def test_a_failing_pricing_call_is_counted_as_an_error(
    orders: Orders, upstream: responses.RequestsMock, recorded_metrics: Metrics
) -> None:
    upstream.reset()
    upstream.add(responses.GET, f"{PRICING_URL}/prices/SKU-1", status=500)

    assert orders.create().status_code == 502

    outcomes = {
        attributes["outcome"]: n
        for attributes, n in recorded_metrics.points("dependency.calls")
        if attributes["dependency"] == "pricing.test"
    }
    assert outcomes.get("error", 0) >= 1
    assert "ok" not in outcomes
