"""One trace per order: the request's span holds the spans of the calls it makes, its context
travels with what it sends on, its log lines name it, and its metrics count it. Read from the
process's in-memory exporter and metric reader (``tests/support/telemetry.py``)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from {{ cookiecutter.package_name }}.dependencies import telemetry
from tests.support.api import Orders
from tests.support.apps import MakeApp, engine_of
from tests.support.telemetry import Metrics, Spans, ids


def test_the_request_span_holds_the_database_calls_it_made(
    app: Flask, orders: Orders, spans: Spans
) -> None:
    orders.created()

    request = spans.server()
    inserts = [span for span in spans.named("INSERT") if "INTO orders " in statement(span)]
    [insert] = inserts
    assert insert.kind is SpanKind.CLIENT
    assert insert.parent is not None
    assert insert.parent.span_id == request.context.span_id
    assert insert.context.trace_id == request.context.trace_id
    assert insert.attributes is not None
    assert insert.attributes["db.system"] == engine_of(app).dialect.name
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/orders"


def statement(span: ReadableSpan) -> str:
    return str((span.attributes or {}).get("db.statement", ""))


def test_spans_name_the_service_and_the_process_that_made_them(
    orders: Orders, spans: Spans
) -> None:
    orders.created()

    resource = spans.server().resource.attributes
    # The project's name, as no OTEL_SERVICE_NAME says otherwise; one id per process (gunicorn's
    # workers each export their own series).
    assert resource["service.name"] == telemetry.SERVICE
    assert resource["service.instance.id"]


def test_each_request_is_a_trace_of_its_own(orders: Orders, spans: Spans) -> None:
    order = orders.created()
    orders.get(order["id"])

    created = spans.server()
    read = spans.server("GET /orders/<int:order_id>")
    assert created.context.trace_id != read.context.trace_id
    assert created.parent is None
    assert read.parent is None


def test_probes_leave_no_trace(make_app: MakeApp, spans: Spans) -> None:
    client = make_app().test_client()

    client.get("/healthz")
    client.get("/readyz")

    assert [span.name for span in spans.finished() if span.kind is SpanKind.SERVER] == []


def test_the_standard_variable_says_which_paths_leave_no_trace(
    make_app: MakeApp, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_FLASK_EXCLUDED_URLS", "healthz")
    client = make_app().test_client()

    client.get("/healthz")
    client.get("/readyz")

    assert [span.name for span in spans.finished() if span.kind is SpanKind.SERVER] == [
        "GET /readyz"
    ]


@pytest.fixture
def json_log(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, io.StringIO]]:
    # The app logs to the stderr it finds when it is made: give it one of our own. Logging's own
    # record factory, which the app adds the trace's ids to (an earlier app of the process did).
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        yield make_app(LOG_JSON=True), stream
    finally:
        logging.setLogRecordFactory(factory)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
            root.removeHandler(handler)


def test_a_request_logs_its_trace_and_span_beside_its_request_id(
    json_log: tuple[Flask, io.StringIO], spans: Spans
) -> None:
    app, stream = json_log

    response = Orders(app.test_client()).create()

    [line] = [
        parsed
        for parsed in map(json.loads, stream.getvalue().splitlines())
        if parsed["logger"].endswith(".access")
    ]
    trace_id, span_id = ids(spans.server())
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["trace_id"] == trace_id
    assert line["span_id"] == span_id


def test_a_later_app_leaves_the_log_record_factory_as_it_found_it(
    json_log: tuple[Flask, io.StringIO], make_app: MakeApp
) -> None:
    factory = logging.getLogRecordFactory()  # as the first app made it

    make_app()

    assert logging.getLogRecordFactory() is factory


def test_a_line_logged_outside_any_span_names_none(
    json_log: tuple[Flask, io.StringIO],
) -> None:
    _app, stream = json_log

    logging.getLogger("outside").warning("no request here")

    [line] = [json.loads(text) for text in stream.getvalue().splitlines() if "no request" in text]
    assert "trace_id" not in line
    assert "span_id" not in line


def test_requests_are_counted_per_route_and_status(
    orders: Orders, recorded_metrics: Metrics
) -> None:
    order = orders.created()
    orders.get(order["id"])
    orders.get(order["id"] + 1000)

    counted = {
        (attributes["http.method"], attributes["http.target"], attributes["http.status_code"]): n
        for attributes, n in recorded_metrics.points("http.server.duration")
    }
    assert counted == {
        ("POST", "/orders", 201): 1,
        ("GET", "/orders/<int:order_id>", 200): 1,
        ("GET", "/orders/<int:order_id>", 404): 1,
    }


def test_the_calls_to_each_dependency_are_counted_by_outcome(
    orders: Orders, recorded_metrics: Metrics
) -> None:
    orders.created()

    database = [
        (attributes, n)
        for attributes, n in recorded_metrics.points("dependency.calls")
        if attributes["dependency"] == "sqlite"
    ]
    [(attributes, n)] = database
    assert attributes["outcome"] == "ok"
    assert n >= 1


# A process of its own: the SDK reads OTEL_SDK_DISABLED when the process's providers are made.
SPANS_OF_ONE_REQUEST = """
import sys
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.dependencies import telemetry

exporter = InMemorySpanExporter()
telemetry.start([SimpleSpanProcessor(exporter)])
app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}, instance_path=sys.argv[1])
app.test_client().get("/orders/1")
print(len(exporter.get_finished_spans()))
"""


@pytest.mark.parametrize(("disabled", "recorded"), [("true", False), ("false", True)])
def test_otel_sdk_disabled_records_nothing(disabled: str, recorded: bool, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FLASK_"))}
    # Where this process imports the package from, whether installed or a source folder.
    found = str(Path(telemetry.__file__).resolve().parents[2])
    ran = subprocess.run(  # noqa: S603 (this interpreter, with arguments made here)
        [sys.executable, "-c", SPANS_OF_ONE_REQUEST, str(tmp_path / "instance")],
        env={**environment, "OTEL_SDK_DISABLED": disabled, "PYTHONPATH": found},
        # pytest's own folder, the project's (or mutmut's copy of it, whose settings its mutated
        # code reads from there in this process too); the child writes nothing there.
        cwd=Path.cwd(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert (int(ran.stdout.splitlines()[-1]) > 0) is recorded, ran.stdout
