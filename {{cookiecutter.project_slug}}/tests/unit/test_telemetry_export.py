"""Where telemetry goes, by the standard variables only: nowhere without an endpoint; over
OTLP/HTTP to the endpoint (or each signal's own) with one; named by ``OTEL_SERVICE_NAME`` or the
project, each process an instance of its own; and each call to a dependency counted by outcome.

Each test makes providers of its own (``telemetry.providers``), never the process's: ``responses``
answers what their OTLP exporters send, and records where each request went."""

from __future__ import annotations

import os
import re
import string

import pytest
import responses
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from {{ cookiecutter.package_name }}.dependencies import telemetry
from tests.support.telemetry import read_points

COLLECTOR = "http://collector.test:4318"
Sent = list[tuple[str, bytes]]


@pytest.fixture
def otel_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The ``OTEL_*`` variables of the shell the tests run in gone; the test sets its own."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def sent_by_new_providers() -> Sent:
    """What providers made now send once a span and a metric point were recorded and they were
    shut down (which exports what each holds): each request's URL and body, answered or not."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as otlp:
        otlp.add(responses.POST, re.compile(r"http://[^/]+\.test(:\d+)?/.*"), status=200)
        made = telemetry.providers()
        with made.tracer().start_as_current_span("work"):
            made.meter_provider.get_meter("work").create_counter("work.done").add(1)
        made.tracer_provider.shutdown()
        made.meter_provider.shutdown()
        return [(str(call.request.url), as_bytes(call.request.body)) for call in otlp.calls]


def as_bytes(body: bytes | str | None) -> bytes:
    return body.encode() if isinstance(body, str) else body or b""


def test_without_an_endpoint_nothing_is_sent_anywhere(otel_variables: pytest.MonkeyPatch) -> None:
    assert sent_by_new_providers() == []


def test_with_an_endpoint_spans_and_metrics_go_there_over_otlp_http(
    otel_variables: pytest.MonkeyPatch,
) -> None:
    otel_variables.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", COLLECTOR)

    sent = sent_by_new_providers()

    assert sorted(url for url, _ in sent) == [f"{COLLECTOR}/v1/metrics", f"{COLLECTOR}/v1/traces"]
    [traces] = [body for url, body in sent if url.endswith("/v1/traces")]
    [resource] = ExportTraceServiceRequest.FromString(traces).resource_spans
    named = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert named["service.name"] == telemetry.SERVICE
    assert [span.name for scope in resource.scope_spans for span in scope.spans] == ["work"]
    [metrics] = [body for url, body in sent if url.endswith("/v1/metrics")]
    [measured] = ExportMetricsServiceRequest.FromString(metrics).resource_metrics
    # The same process's spans and metrics: one service instance.
    assert measured.resource == resource.resource


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces.test/v1/traces"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics.test/v1/metrics"),
    ],
)
def test_a_signal_with_an_endpoint_of_its_own_alone_is_sent(
    otel_variables: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    otel_variables.setenv(variable, url)

    assert [url for url, _ in sent_by_new_providers()] == [url]


def resource_of_a_span() -> dict[str, object]:
    """The resource a span of new providers names."""
    exporter = InMemorySpanExporter()
    made = telemetry.providers([SimpleSpanProcessor(exporter)])
    made.tracer().start_span("work").end()
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()
    [span] = exporter.get_finished_spans()
    return dict(span.resource.attributes)


def test_the_service_is_named_by_otel_service_name_or_else_the_project(
    otel_variables: pytest.MonkeyPatch,
) -> None:
    assert resource_of_a_span()["service.name"] == telemetry.SERVICE

    otel_variables.setenv("OTEL_SERVICE_NAME", "orders-eu")
    assert resource_of_a_span()["service.name"] == "orders-eu"


def test_each_process_is_a_service_instance_of_its_own(otel_variables: pytest.MonkeyPatch) -> None:
    instances = {str(resource_of_a_span()["service.instance.id"]) for _ in range(2)}

    assert len(instances) == 2
    assert all(set(instance) <= set(string.hexdigits) for instance in instances), instances


def test_each_call_to_a_dependency_is_counted_by_dependency_and_outcome(
    otel_variables: pytest.MonkeyPatch,
) -> None:
    reader = InMemoryMetricReader()
    made = telemetry.providers(metric_readers=[reader])
    tracer = made.tracer()
    calls = [
        (SpanKind.CLIENT, {"db.system": "postgresql"}, StatusCode.ERROR),
        (SpanKind.CLIENT, {"db.system.name": "postgresql"}, StatusCode.UNSET),
        (SpanKind.PRODUCER, {"messaging.system": "rabbitmq"}, StatusCode.OK),
        (SpanKind.CLIENT, {"server.address": "cache", "db.x": "y"}, StatusCode.UNSET),
        (SpanKind.CLIENT, {"url.full": "http://pricing:8080/prices/SKU-1"}, StatusCode.UNSET),
        (SpanKind.CLIENT, {"http.url": "http://identity/jwks.json"}, StatusCode.ERROR),
        (SpanKind.CLIENT, {}, StatusCode.UNSET),
        (SpanKind.SERVER, {"db.system": "postgresql"}, StatusCode.ERROR),  # not a call
        (SpanKind.INTERNAL, {"db.system": "postgresql"}, StatusCode.ERROR),  # not a call
    ]
    for kind, attributes, status in calls:
        with tracer.start_as_current_span("call", kind=kind, attributes=attributes) as span:
            span.set_status(Status(status))

    counted = {
        (attributes["dependency"], attributes["outcome"]): value
        for name, attributes, value in read_points(reader)
        if name == "dependency.calls"
    }
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()

    assert counted == {
        ("postgresql", "error"): 1,
        ("postgresql", "ok"): 1,
        ("rabbitmq", "ok"): 1,
        ("cache", "ok"): 1,
        ("pricing", "ok"): 1,
        ("identity", "error"): 1,
        ("unknown", "ok"): 1,
    }


def test_telemetry_starts_once_per_process_and_refuses_later_processors() -> None:
    started = telemetry.start()

    assert telemetry.start() is started
    with pytest.raises(RuntimeError, match="has started"):
        telemetry.start([SimpleSpanProcessor(InMemorySpanExporter())])
    with pytest.raises(RuntimeError, match="has started"):
        telemetry.start(metric_readers=[InMemoryMetricReader()])
