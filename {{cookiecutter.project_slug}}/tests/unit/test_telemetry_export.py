"""Where telemetry goes, by the standard variables only: no exporter without an endpoint; with
one, spans and metrics both exported (or each signal with an endpoint of its own); named by
``OTEL_SERVICE_NAME`` or the project, each process an instance of its own; and each call to a
dependency counted by outcome.

Each test makes providers of its own (``telemetry.providers``), never the process's. The OTLP
exporters are replaced by recording ones: what they send over HTTP, and where, is the e2e layer's
to show (its stand-in receiver)."""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from {{ cookiecutter.package_name }}.dependencies import telemetry
from tests.support.telemetry import read_points


class Exported:
    """What the providers' exporters were given, per signal; ``None`` where none was made."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] | None = None
        self.metrics: list[MetricsData] | None = None

    def signals(self) -> list[str]:
        made = {"traces": self.spans, "metrics": self.metrics}
        return sorted(signal for signal, given in made.items() if given is not None)


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Exported:
    """The shell's ``OTEL_*`` variables gone (the test sets its own), and the OTLP exporters
    replaced by ones that record what they are given."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    record = Exported()
    given_spans: list[ReadableSpan] = []
    given_metrics: list[MetricsData] = []

    class Spans(InMemorySpanExporter):
        def __init__(self) -> None:
            super().__init__()
            record.spans = given_spans

        def export(self, spans: Sequence[ReadableSpan]) -> Any:
            given_spans.extend(spans)
            return super().export(spans)

    class Metrics(MetricExporter):
        def __init__(self) -> None:
            super().__init__()
            record.metrics = given_metrics

        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **_: Any
        ) -> Any:
            given_metrics.append(metrics_data)
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **_: Any) -> None:
            pass

    monkeypatch.setattr(telemetry, "OTLPSpanExporter", Spans)
    monkeypatch.setattr(telemetry, "OTLPMetricExporter", Metrics)
    return record


def record_and_stop(made: telemetry.Telemetry) -> None:
    """A span and a metric point recorded, then the providers shut down, which exports both."""
    with made.tracer().start_as_current_span("work"):
        made.meter_provider.get_meter("work").create_counter("work.done").add(1)
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()


def test_without_an_endpoint_nothing_is_exported(exported: Exported) -> None:
    record_and_stop(telemetry.providers())

    assert exported.signals() == []


def test_with_an_endpoint_spans_and_metrics_are_exported(
    exported: Exported, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.test:4318")

    record_and_stop(telemetry.providers())

    assert exported.signals() == ["metrics", "traces"]
    [span] = exported.spans or []
    assert span.name == "work"
    assert span.resource.attributes["service.name"] == telemetry.SERVICE
    names = [
        metric.name
        for data in exported.metrics or []
        for resource in data.resource_metrics
        # The same process's spans and metrics: one service instance.
        if resource.resource == span.resource
        for scope in resource.scope_metrics
        for metric in scope.metrics
    ]
    assert "work.done" in names


@pytest.mark.parametrize(
    ("variable", "signal"),
    [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "traces"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "metrics"),
    ],
)
def test_a_signal_with_an_endpoint_of_its_own_alone_is_exported(
    exported: Exported, monkeypatch: pytest.MonkeyPatch, variable: str, signal: str
) -> None:
    monkeypatch.setenv(variable, "http://collector.test:4318/v1/" + signal)

    record_and_stop(telemetry.providers())

    assert exported.signals() == [signal]


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
    exported: Exported, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resource_of_a_span()["service.name"] == telemetry.SERVICE

    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-eu")
    assert resource_of_a_span()["service.name"] == "orders-eu"


def test_each_process_is_a_service_instance_of_its_own(exported: Exported) -> None:
    instances = {str(resource_of_a_span()["service.instance.id"]) for _ in range(2)}

    assert len(instances) == 2
    assert all(set(instance) <= set(string.hexdigits) for instance in instances), instances


def test_each_call_to_a_dependency_is_counted_by_dependency_and_outcome(
    exported: Exported,
) -> None:
    reader = InMemoryMetricReader()
    made = telemetry.providers(metric_readers=[reader])
    tracer = made.tracer()
    calls = [
        (SpanKind.CLIENT, {"db.system": "a-db"}, StatusCode.ERROR),
        (SpanKind.CLIENT, {"db.system.name": "a-db"}, StatusCode.UNSET),
        (SpanKind.PRODUCER, {"messaging.system": "a-queue"}, StatusCode.OK),
        (SpanKind.CLIENT, {"server.address": "a-server"}, StatusCode.UNSET),
        (SpanKind.CLIENT, {"url.full": "http://an-api:8080/things/1"}, StatusCode.UNSET),
        (SpanKind.CLIENT, {"http.url": "http://another-api/keys"}, StatusCode.ERROR),
        (SpanKind.CLIENT, {}, StatusCode.UNSET),
        (SpanKind.SERVER, {"db.system": "a-db"}, StatusCode.ERROR),  # not a call
        (SpanKind.INTERNAL, {"db.system": "a-db"}, StatusCode.ERROR),  # not a call
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
        ("a-db", "error"): 1,
        ("a-db", "ok"): 1,
        ("a-queue", "ok"): 1,
        ("a-server", "ok"): 1,
        ("an-api", "ok"): 1,
        ("another-api", "error"): 1,
        ("unknown", "ok"): 1,
    }


def test_telemetry_starts_once_per_process_and_refuses_later_processors() -> None:
    started = telemetry.start()

    assert telemetry.start() is started
    with pytest.raises(RuntimeError, match="has started"):
        telemetry.start([SimpleSpanProcessor(InMemorySpanExporter())])
    with pytest.raises(RuntimeError, match="has started"):
        telemetry.start(metric_readers=[InMemoryMetricReader()])
