"""Liveness, and readiness of every configured dependency."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
from flask.testing import FlaskClient
from pytest_socket import SocketBlockedError

from {{ cookiecutter.package_name }} import db
from tests.support.apps import MakeApp


def assert_not_ready(client: FlaskClient, name: str, configured: list[str]) -> str:
    """Asserts /readyz is a 503 naming ``name`` alone, with every ``configured`` dependency
    checked; returns what it says about ``name``."""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"] == f"Not ready: {name} down."
    assert sorted(problem["checks"]) == configured
    outcome: str = problem["checks"][name]
    assert not outcome.startswith(("ok", "embedded"))
    return outcome


def test_liveness_answers_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_when_every_configured_dependency_answers(
    client: FlaskClient, configured_dependencies: list[str]
) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert sorted(body["checks"]) == configured_dependencies
    # The in-process stand-ins say so; a real dependency answers "ok".
    assert set(body["checks"].values()) <= {"ok", "embedded"}
    assert body["checks"]["database"] == "embedded"


def test_not_ready_when_the_database_is_down(
    make_app: MakeApp, tmp_path: Path, configured_dependencies: list[str]
) -> None:
    unreachable = tmp_path / "missing" / "orders.sqlite3"
    app = make_app(schema=False, DATABASE_URL=f"sqlite:///{unreachable}")

    outcome = assert_not_ready(app.test_client(), "database", configured_dependencies)

    assert outcome.startswith("OperationalError")


def test_a_hanging_dependency_costs_readiness_its_timeout(
    make_app: MakeApp, configured_dependencies: list[str]
) -> None:
    # Long enough for the answering checks on a loaded machine, short against the hang.
    release = threading.Event()

    with mock.patch.object(db.Database, "check", side_effect=lambda: release.wait(30)):
        app = make_app(READINESS_TIMEOUT_SECONDS=0.25)
        started = time.monotonic()
        try:
            outcome = assert_not_ready(app.test_client(), "database", configured_dependencies)
            waited = time.monotonic() - started
        finally:
            release.set()

    assert outcome == "timed out after 0.25 s"
    assert waited < 10, "readiness waited for the hanging check instead of its timeout"


def test_the_unit_layer_cannot_reach_the_network() -> None:
    # pytest-socket also warns; with warnings as errors that warning is what a test sees.
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketBlockedError):
        socket.getaddrinfo("example.com", 80)
