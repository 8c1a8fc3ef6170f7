"""The stand-in OTLP receiver in the stack (``collector``, compose's ``telemetry`` profile): WireMock
answering every ``POST /v1/...`` export with 200 and keeping each in its request journal, which a
scenario reads back through the admin API and decodes with ``opentelemetry-proto``. The service
and its workers export to it, in batches sent every fraction of a second."""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
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
EXPORTING = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{SERVICE}:{PORT}",
    "OTEL_BSP_SCHEDULE_DELAY": str(EXPORT_DELAY_MILLISECONDS),
    # Metrics are not read here: sent seldom, they fill the receiver's journal less.
    "OTEL_METRIC_EXPORT_INTERVAL": "10000",
}


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


class Collector:
    def __init__(self, url: str) -> None:
        self.url = url

    def forget(self) -> None:
        """Empties the journal: what a scenario reads is what was exported since it began (the
        receiver's memory holds a few scenarios' exports, not the layer's)."""
        requests.delete(f"{self.url}/__admin/requests", timeout=10).raise_for_status()

    def spans(self) -> list[Exported]:
        """Every span exported since the scenario began, decoded from the ``POST /v1/traces``
        bodies in the journal."""
        answer = requests.post(
            f"{self.url}/__admin/requests/find",
            json={"method": "POST", "url": "/v1/traces"},
            timeout=10,
        )
        answer.raise_for_status()
        found = []
        for received in answer.json()["requests"]:
            body = base64.b64decode(received["bodyAsBase64"])
            export = ExportTraceServiceRequest.FromString(body)
            for resource in export.resource_spans:
                service = {a.key: a.value.string_value for a in resource.resource.attributes}
                for scope in resource.scope_spans:
                    found += [exported(span, service["service.name"]) for span in scope.spans]
        return found

    def traces(self) -> dict[str, list[Exported]]:
        """The spans exported so far, by trace id."""
        by_trace: dict[str, list[Exported]] = defaultdict(list)
        for span in self.spans():
            by_trace[span.trace_id].append(span)
        return by_trace


def exported(span: Span, service: str) -> Exported:
    return Exported(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        name=span.name,
        kind=span.kind,
        service=service,
        attributes={a.key: a.value.string_value for a in span.attributes},
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
