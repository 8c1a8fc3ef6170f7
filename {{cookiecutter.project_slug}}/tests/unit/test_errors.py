"""Every error leaves as application/problem+json (RFC 9457), never as HTML or a bare 500, and a
rejected request stores nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import db
from {{ cookiecutter.package_name }} import orders as orders_module
from tests.support.api import Orders
from tests.support.apps import MakeApp, count_rows
from tests.support.problems import REJECTED_BY_AN_OPERATION, REJECTED_BY_ROUTING, assert_problem


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    [
        pytest.param(*case[1:], id=case[0])
        for case in REJECTED_BY_AN_OPERATION + REJECTED_BY_ROUTING
    ],
)
def test_rejected_request_is_a_problem_and_stores_nothing(
    app: Flask,
    client: FlaskClient,
    method: str,
    path: str,
    options: dict[str, Any],
    status: int,
) -> None:
    response = client.open(path, method=method, **options)

    assert_problem(response, status)
    assert count_rows(app, "orders") == 0


def test_method_not_allowed_names_the_allowed_ones(client: FlaskClient) -> None:
    response = client.delete("/orders/1")

    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"].split(", ")
    assert "DELETE" not in response.headers["Allow"]
    assert "Allow" not in client.get("/nowhere").headers  # only a 405 names methods


def test_invalid_fields_are_listed_with_a_message_each(client: FlaskClient) -> None:
    problem = assert_problem(client.post("/orders", json={"sku": "", "quantity": 0}), 422)

    fields = {error["field"]: error["message"] for error in problem["errors"]}
    assert {"sku", "quantity"} <= fields.keys()
    assert all(isinstance(message, str) and message for message in fields.values())


def test_conflict_is_a_problem(orders: Orders) -> None:
    order_id = orders.created_id()
    orders.cancel(order_id)

    problem = assert_problem(orders.cancel(order_id), 409)

    assert str(order_id) in problem["detail"]


def test_database_outage_is_a_503_problem_that_hides_its_cause(
    make_app: MakeApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = tmp_path / "missing" / "orders.sqlite3"
    app = make_app(schema=False, DATABASE_URL=f"sqlite:///{unreachable}")

    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/orders")

    problem = assert_problem(response, 503)
    assert problem["detail"] == "The database did not answer; try again shortly."
    assert "sqlite" not in response.get_data(as_text=True).lower()
    # The cause goes to the service's log instead, under its module's logger.
    [logged] = [record.getMessage() for record in caplog.records if record.name == db.__name__]
    assert logged.startswith("database unavailable: (sqlite3.OperationalError) unable to open")


def test_unexpected_failure_is_a_500_problem_that_hides_its_cause(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_order_id: int) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(orders_module, "_existing_order", broken)

    with caplog.at_level(logging.ERROR):
        response = client.get("/orders/1")

    problem = assert_problem(response, 500)
    assert problem["detail"] == "The service failed unexpectedly."
    assert "secret" not in response.get_data(as_text=True)
    # The cause is logged instead, with its traceback.
    [logged] = [record for record in caplog.records if record.exc_info]
    assert logged.getMessage() == "unhandled error"
    assert str(logged.exc_info[1]) == "secret internals"  # type: ignore[index]


def test_a_database_that_cannot_answer_is_a_503_problem_not_a_500(
    make_app: MakeApp, tmp_path: Path
) -> None:
    unreachable = tmp_path / "missing" / "orders.sqlite3"
    app = make_app(schema=False, DATABASE_URL=f"sqlite:///{unreachable}")

    answers = [app.test_client().get("/orders"), app.test_client().get("/orders/1")]

    for response in answers:
        problem = assert_problem(response, 503)
        assert problem["detail"] == "The database did not answer; try again shortly."
        assert "sqlite" not in response.get_data(as_text=True).lower()


def test_a_pool_with_no_connection_to_give_is_a_503_problem(app: Flask) -> None:
    exhausted = sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")
    with mock.patch.object(db, "session", side_effect=exhausted):
        response = app.test_client().get("/orders")

    assert_problem(response, 503)
