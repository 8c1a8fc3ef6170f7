"""Telemetry, for the layers that run the app in process: the process's spans and metrics kept in
memory.

OpenTelemetry has one tracer and one meter provider per process: they are made once, before the
first app (each in-process layer's conftest imports this module), with an in-memory exporter and
reader, and each test reads what its own requests recorded (the spans and metric points since it
started).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.metrics import Counter, Histogram, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from {{ cookiecutter.package_name }}.dependencies import telemetry

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["in_memory_telemetry", "recorded_metrics", "spans"]

_EXPORTER = InMemorySpanExporter()
# Each read returns what was recorded since the one before: a test sees its own points only.
_READER = InMemoryMetricReader(
    preferred_temporality={
        Counter: AggregationTemporality.DELTA,
        Histogram: AggregationTemporality.DELTA,
        UpDownCounter: AggregationTemporality.DELTA,
    }
)


@functools.cache
def _in_memory() -> telemetry.Telemetry:
    # Once per process, however many layers' conftests (run in one session) ask first.
    with pytest.MonkeyPatch.context() as environment:
        for name in [name for name in os.environ if name.startswith("OTEL_")]:
            environment.delenv(name)
        return telemetry.start([SimpleSpanProcessor(_EXPORTER)], [_READER])


@pytest.fixture(scope="session", autouse=True)
def in_memory_telemetry() -> telemetry.Telemetry:
    """The process's providers, made before any app of the layer, writing to memory only: an
    exporter the developer's shell names (``OTEL_EXPORTER_OTLP_*``) is not one a test may reach."""
    return _in_memory()


@dataclass
class Spans:
    def finished(self) -> list[ReadableSpan]:
        """Every span that ended since the test started, in the order they ended."""
        return list(_EXPORTER.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name == name]

    def server(self, name: str = "POST /orders") -> ReadableSpan:
        """The one request span of that name (Flask's: its method and route)."""
        [span] = self.named(name)
        assert span.kind is SpanKind.SERVER
        return span


def parent_of(traceparent: str) -> tuple[str, str]:
    """A W3C ``traceparent`` header's trace id and parent span id (hex)."""
    version, trace_id, span_id, _flags = traceparent.split("-")
    assert version == "00"
    return trace_id, span_id


def ids(span: ReadableSpan) -> tuple[str, str]:
    """A span's trace id and span id, as a ``traceparent`` header writes them."""
    return format_trace_id(span.context.trace_id), format_span_id(span.context.span_id)


@pytest.fixture
def spans(in_memory_telemetry: telemetry.Telemetry) -> Iterator[Spans]:
    _EXPORTER.clear()
    yield Spans()
    _EXPORTER.clear()


@dataclass
class Metrics:
    read: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """Each data point of the metric ``name`` recorded since the test started: its
        attributes, and its value (a count's sum, a histogram's count)."""
        self.read += read_points(_READER)
        return [(attributes, value) for named, attributes, value in self.read if named == name]


def read_points(reader: InMemoryMetricReader) -> list[tuple[str, dict[str, Any], Any]]:
    """Each data point the reader collects now: its metric's name, its attributes, and its value
    (a count's sum, a histogram's count)."""
    data = reader.get_metrics_data()
    return [
        (metric.name, dict(point.attributes or {}), value_of(point))
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    ]


def value_of(point: Any) -> Any:
    return point.value if isinstance(point, NumberDataPoint) else point.count


@pytest.fixture
def recorded_metrics(in_memory_telemetry: telemetry.Telemetry) -> Metrics:
    _READER.get_metrics_data()  # what earlier tests recorded
    return Metrics()
