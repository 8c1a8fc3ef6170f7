"""Traces and metrics with OpenTelemetry: one trace per order, from the request to its event.

Configured the standard way only, by the ``OTEL_*`` variables the SDK reads itself:
``OTEL_SERVICE_NAME`` (default: the project's name), ``OTEL_TRACES_SAMPLER`` (and its argument),
``OTEL_SDK_DISABLED=true`` (nothing recorded), and ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the per-signal
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and ``..._METRICS_ENDPOINT``): without an endpoint nothing is
exported (``flask run`` on a fresh clone sends nothing anywhere); with one, spans and metrics go
there over OTLP/HTTP.

The request's span (Flask) holds the spans of the calls it makes: the database's (SQLAlchemy), and
those of the libraries in ``INSTRUMENTORS``; an HTTP call carries the W3C ``traceparent`` header,
so that the service it calls continues the trace. What carries it further is in ``CARRIERS``.

The spans and the metrics each process records are exported by that process: gunicorn's workers
each build their own providers when they load the app (never before the fork, whose threads a
worker would not have), each as a service instance of its own (``service.instance.id``), so that a
back end adds up the workers' series rather than taking one for another's.

Metrics (RED): the HTTP server's request count, errors (its status code) and duration per route
(``http.server.duration``, Flask's instrumentation), and the outcome of every call to a dependency
(``dependency.calls``: a count per dependency and outcome, from the spans of those calls).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
{%- if cookiecutter.cache == "redis" %}
from opentelemetry.instrumentation.redis import RedisInstrumentor{% endif %}
{%- if cookiecutter.upstream_api == "yes" or cookiecutter.auth == "jwt" %}
from opentelemetry.instrumentation.requests import RequestsInstrumentor{% endif %}
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from .. import wiring
{%- if cookiecutter.message_broker == "rabbitmq" %}
from .telemetry_events import through_events{% endif %}

SERVICE = "{{ cookiecutter.project_slug }}"
# Probes ask every few seconds and tell nothing about orders: no trace of theirs, unless the
# standard variable says otherwise.
EXCLUDED_URLS = "healthz,readyz"
# The libraries the service reaches its dependencies through besides SQLAlchemy, each traced by
# its instrumentation.
INSTRUMENTORS: tuple[BaseInstrumentor, ...] = (
    # one line each
    {%- if cookiecutter.cache == "redis" %}
    RedisInstrumentor(),{% endif %}
    {%- if cookiecutter.upstream_api == "yes" or cookiecutter.auth == "jwt" %}
    RequestsInstrumentor(),{% endif %}
)
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
# Kinds of span that stand for a call to another process: a dependency's.
CALLS = (SpanKind.CLIENT, SpanKind.PRODUCER)
logger = logging.getLogger(__name__)
_starting = threading.Lock()
_started: Telemetry | None = None


@dataclass(frozen=True)
class Telemetry:
    """The process's providers: every app of a process (and every library) records to them."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def tracer(self) -> trace.Tracer:
        return self.tracer_provider.get_tracer(__name__)


class DependencyCalls(SpanProcessor):
    """Counts each call to a dependency as its span ends, by dependency and outcome: the same
    calls the trace shows, whichever library made them."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.calls = meter.create_counter(
            "dependency.calls", unit="{call}", description="Calls to the service's dependencies."
        )

    def on_end(self, span: ReadableSpan) -> None:
        if span.kind not in CALLS:
            return
        outcome = "error" if span.status.status_code is StatusCode.ERROR else "ok"
        self.calls.add(1, {"dependency": dependency_of(span), "outcome": outcome})


def dependency_of(span: ReadableSpan) -> str:
    """Which dependency a call's span is about: its database or messaging system, or the host
    an HTTP call went to (under either version of the semantic conventions)."""
    attributes = span.attributes or {}
    for key in ("db.system.name", "db.system", "messaging.system", "server.address"):
        value = attributes.get(key)
        if value:
            return str(value)
    url = attributes.get("url.full") or attributes.get("http.url")
    host = urlsplit(str(url)).hostname if url else None
    return host or "unknown"


def _resource() -> Resource:
    resource = Resource.create({SERVICE_INSTANCE_ID: uuid.uuid4().hex})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        # Neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES named the service.
        resource = resource.merge(Resource({SERVICE_NAME: SERVICE}))
    return resource


def _exports(signal_endpoint: str) -> bool:
    return any(os.environ.get(name, "").strip() for name in (ENDPOINT, signal_endpoint))


def start(
    span_processors: Sequence[SpanProcessor] = (), metric_readers: Sequence[MetricReader] = ()
) -> Telemetry:
    """The process's telemetry, made by the first call (the first app) and the same afterwards:
    OpenTelemetry has one tracer and one meter provider per process. ``span_processors`` and
    ``metric_readers`` join the OTLP exporters the variables ask for (tests read spans and
    metrics in memory); those of a later call are refused, rather than silently left out."""
    global _started
    with _starting:
        if _started is None:
            _started = providers(span_processors, metric_readers)
            trace.set_tracer_provider(_started.tracer_provider)
            metrics.set_meter_provider(_started.meter_provider)
        elif span_processors or metric_readers:
            raise RuntimeError("telemetry has started: its processors and readers are set")
        return _started


def providers(
    span_processors: Sequence[SpanProcessor] = (), metric_readers: Sequence[MetricReader] = ()
) -> Telemetry:
    """Providers as the ``OTEL_*`` variables ask, with ``span_processors`` and ``metric_readers``
    besides: not yet the process's (``start`` makes the first ones so)."""
    resource = _resource()
    readers = list(metric_readers)
    if _exports(METRICS_ENDPOINT):
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(DependencyCalls(meter_provider.get_meter(__name__)))
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)
    if _exports(TRACES_ENDPOINT):
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Telemetry(tracer_provider, meter_provider)


def _instrument_libraries() -> None:
    # Before the app factory makes its engine and clients, which is when an instrumentation hooks
    # into them: the factory imports this module first. Their spans go to whichever providers are
    # set later (the API hands out proxies until then). SQLAlchemy's declares the versions below
    # 2.1 only, though the engine events it hooks are the same in the 2.1 the lock pins: its
    # version is not checked, and the unit layer's traces fail if its spans go missing.
    sqlalchemy = SQLAlchemyInstrumentor()
    if not sqlalchemy.is_instrumented_by_opentelemetry:
        sqlalchemy.instrument(skip_dep_check=True)
    for instrumentor in INSTRUMENTORS:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


_instrument_libraries()


def _record_trace_ids() -> None:
    # Every log line written inside a span carries its ids, beside the request's id: from the
    # trace, its log lines; from a log line, its trace.
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_trace_ids", False):
        return

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = previous(*args, **kwargs)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            made.trace_id = trace.format_trace_id(span.trace_id)
            made.span_id = trace.format_span_id(span.span_id)
        return made

    record.adds_trace_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record)


# What carries the trace beyond the request, each given the app's wiring.
CARRIERS: tuple[Callable[[wiring.Wiring], None], ...] = (
    # one line each
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    through_events,{% endif %}
)


def init_app(app: Flask) -> None:
    """First of the app's dependencies: the request's span starts in a request hook, which must
    run before another's hook answers the request (a refused token), or that request is not
    traced."""
    start()  # the process's providers, which the instrumentation records to
    _record_trace_ids()
    FlaskInstrumentor.instrument_app(  # type: ignore[no-untyped-call]
        app, excluded_urls=os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS", EXCLUDED_URLS)
    )
    for carrier in CARRIERS:
        carrier(wiring.of(app))
