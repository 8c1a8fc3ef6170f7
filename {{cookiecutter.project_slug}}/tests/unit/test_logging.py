"""Logs are JSON lines in production and text in development, each carrying the id of its
request; the id is echoed to the caller."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import orders as orders_module
from {{ cookiecutter.package_name }}.config import InvalidSetting
from tests.support.apps import MakeApp

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Logged:
    client: FlaskClient
    stream: io.StringIO

    def lines(self) -> list[dict[str, Any]]:
        """Every line logged so far, each parsed as JSON (a line that is not JSON fails)."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def access_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"].endswith(".access")]


def _attach(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, **overrides: object) -> Logged:
    # The app logs to the stderr it finds when it is made: give it one of our own.
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    app = make_app(**overrides)
    return Logged(app.test_client(), stream)


@pytest.fixture
def logged(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Logged]:
    result = _attach(make_app, monkeypatch, LOG_JSON=True)
    yield result
    _detach(result.stream)


def _detach(stream: io.StringIO) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
            root.removeHandler(handler)


def test_each_request_is_logged_as_one_json_line(logged: Logged) -> None:
    response = logged.client.get("/healthz")

    [line] = logged.access_lines()
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float | int)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert {"time", "message"} <= line.keys()


def test_a_request_without_an_id_gets_a_new_one(logged: Logged) -> None:
    first = logged.client.get("/healthz").headers["X-Request-ID"]
    second = logged.client.get("/healthz").headers["X-Request-ID"]

    assert GENERATED_ID.match(first)
    assert GENERATED_ID.match(second)
    assert first != second


def test_the_callers_request_id_is_echoed_and_logged(logged: Logged) -> None:
    response = logged.client.get("/healthz", headers={"X-Request-ID": "caller-7f3a:9"})

    assert response.headers["X-Request-ID"] == "caller-7f3a:9"
    assert [line["request_id"] for line in logged.access_lines()] == ["caller-7f3a:9"]


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("x" * 129, id="too long"),
        pytest.param("id with spaces", id="spaces"),
        pytest.param('{"json": true}', id="json"),
        pytest.param("<script>", id="markup"),
        pytest.param("é", id="not ascii"),
    ],
)
def test_an_unacceptable_request_id_is_replaced(logged: Logged, given: str) -> None:
    response = logged.client.get("/healthz", headers={"X-Request-ID": given})

    echoed = response.headers["X-Request-ID"]
    assert GENERATED_ID.match(echoed)
    assert [line["request_id"] for line in logged.access_lines()] == [echoed]
    assert given not in logged.stream.getvalue()


def test_an_error_is_logged_with_its_request_id_and_traceback(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_order_id: int) -> None:
        raise RuntimeError("the cause")

    monkeypatch.setattr(orders_module, "_existing_order", broken)
    logged = _attach(make_app, monkeypatch, LOG_JSON=True)
    try:
        logged.client.get("/orders/1", headers={"X-Request-ID": "req-500"})
        lines = logged.lines()
    finally:
        _detach(logged.stream)

    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "req-500"
    assert "RuntimeError: the cause" in error["exc_info"]


def test_development_logs_are_text_a_person_reads(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = _attach(make_app, monkeypatch)
    try:
        logged.client.get("/healthz", headers={"X-Request-ID": "req-1"})
        logging.getLogger("tests").warning("outside any request")
        lines = logged.stream.getvalue().splitlines()
    finally:
        _detach(logged.stream)

    assert re.search(r" INFO \S+\.access \[req-1\] GET /healthz 200$", lines[-2])
    assert lines[-1].endswith(" WARNING tests [-] outside any request")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_log_format_that_is_not_true_or_false_stops_the_start(
    make_app: MakeApp, value: object
) -> None:
    with pytest.raises(InvalidSetting, match="FLASK_LOG_JSON must be true or false"):
        make_app(LOG_JSON=value)
