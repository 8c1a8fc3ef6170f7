"""The stand-in OTLP receiver in the stack (``collector``, compose's ``telemetry`` profile): WireMock
answering every ``POST /v1/...`` export with 200 and keeping each in its request journal, which a
scenario reads back through the admin API and decodes with ``opentelemetry-proto``. The service
and its workers export to it, in batches sent every fraction of a second."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import pytest
import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.e2e.stack import APP, Override, Stack, free_ports
from tests.support import docker

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["collector", "telemetry_override"]

SERVICE = "collector"
PORT = 8080
# The processes that export: the service's replicas, and the workers beside them.
EXPORTERS: list[str] = [
    APP,
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    "relay",{% endif %}
]
# How often the processes export, in milliseconds: a scenario's spans arrive within a few of these.
EXPORT_DELAY_MILLISECONDS = 200
METRIC_INTERVAL_MILLISECONDS = 1000
EXPORT_TIMEOUT_SECONDS = 1
EXPORTING = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{SERVICE}:{PORT}",
    "OTEL_BSP_SCHEDULE_DELAY": str(EXPORT_DELAY_MILLISECONDS),
    # An export to a receiver that hangs gives up after this many seconds (OTLP/HTTP's default: 10).
    "OTEL_EXPORTER_OTLP_TIMEOUT": str(EXPORT_TIMEOUT_SECONDS),
    # Each process's metrics (cumulative since it started), every second.
    "OTEL_METRIC_EXPORT_INTERVAL": str(METRIC_INTERVAL_MILLISECONDS),
}


Export = TypeVar("Export", ExportTraceServiceRequest, ExportMetricsServiceRequest)


@dataclass(frozen=True)
class Exported:
    """A span as the receiver got it: ids as hex, its service."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    service: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Point:
    """A histogram's data point as one process exported it: how many it counted since it
    started."""

    instance: str  # the process's service.instance.id
    attributes: dict[str, object]
    count: int


class Collector:
    def __init__(self, url: str) -> None:
        self.url = url

    def forget(self) -> None:
        """Empties the journal: what a scenario reads is what was exported since it began (the
        receiver's memory holds a few scenarios' exports, not the layer's)."""
        requests.delete(f"{self.url}/__admin/requests", timeout=10).raise_for_status()

    def exports(self, path: str, kind: type[Export]) -> list[Export]:
        """Every export posted to ``path`` since the scenario began, decoded, oldest first."""
        answer = requests.post(
            f"{self.url}/__admin/requests/find",
            json={"method": "POST", "url": path},
            timeout=10,
        )
        answer.raise_for_status()
        received = sorted(answer.json()["requests"], key=lambda r: r["loggedDate"])
        return [kind.FromString(base64.b64decode(r["bodyAsBase64"])) for r in received]

    def spans(self) -> list[Exported]:
        """Every span exported since the scenario began."""
        found = []
        for export in self.exports("/v1/traces", ExportTraceServiceRequest):
            for resource in export.resource_spans:
                service = values(resource.resource.attributes)["service.name"]
                for scope in resource.scope_spans:
                    found += [exported(span, str(service)) for span in scope.spans]
        return found

    def points(self, metric: str) -> list[Point]:
        """The data points of the histogram ``metric`` exported since the scenario began."""
        found = []
        for export in self.exports("/v1/metrics", ExportMetricsServiceRequest):
            for resource in export.resource_metrics:
                instance = str(values(resource.resource.attributes)["service.instance.id"])
                for scope in resource.scope_metrics:
                    found += [
                        Point(instance, values(point.attributes), point.count)
                        for exported_metric in scope.metrics
                        if exported_metric.name == metric
                        for point in exported_metric.histogram.data_points
                    ]
        return found

    def traces(self) -> dict[str, list[Exported]]:
        """The spans exported so far, by trace id."""
        by_trace: dict[str, list[Exported]] = defaultdict(list)
        for span in self.spans():
            by_trace[span.trace_id].append(span)
        return by_trace


def values(attributes: Iterable[KeyValue]) -> dict[str, object]:
    """OTLP attributes as a dict, each value of whichever type it was sent as."""
    return {a.key: getattr(a.value, str(a.value.WhichOneof("value"))) for a in attributes}


def exported(span: Span, service: str) -> Exported:
    return Exported(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        name=span.name,
        kind=span.kind,
        service=service,
        attributes={key: str(value) for key, value in values(span.attributes).items()},
    )


@pytest.fixture(scope="session")
def telemetry_override() -> Override:
    return {
        SERVICE: {"ports": [f"{docker.publish_address()}:{free_ports(1)[0]}:{PORT}"]},
        **{name: {"environment": EXPORTING} for name in EXPORTERS},
    }


@pytest.fixture
def collector(stack: Stack) -> Collector:
    receiver = Collector(f"http://{docker.engine_host()}:{stack.port(SERVICE, PORT)}")
    receiver.forget()
    return receiver
