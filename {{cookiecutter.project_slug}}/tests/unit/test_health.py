"""Liveness, and readiness of every configured dependency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
from flask.testing import FlaskClient
from pytest_socket import SocketBlockedError

from {{ cookiecutter.package_name }} import create_app, db, wiring
from {{ cookiecutter.package_name }}.config import InvalidSetting
from tests.support.apps import MakeApp

# What readiness may report of a dependency: nothing about why, or where it is.
STATES = {"ok", "embedded", "disabled", "failing"}


def assert_not_ready(client: FlaskClient, name: str, configured: list[str]) -> None:
    """Asserts /readyz is a 503 naming ``name`` alone as down, as ``failing``, with every
    ``configured`` dependency checked."""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"] == f"Not ready: {name} down."
    assert sorted(problem["checks"]) == configured
    assert problem["checks"][name] == "failing"


class Hanging:
    """A check that does not return until released, counting how often it was started."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0

    def __call__(self, _bound: float) -> None:
        self.started += 1
        self.release.wait(30)


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    check = Hanging()
    yield check
    check.release.set()


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


def test_with_nothing_configured_every_dependency_is_reported_as_its_stand_in(
    configured_dependencies: list[str], tmp_path: Path
) -> None:
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    try:
        response = app.test_client().get("/readyz")
    finally:
        wiring.close(app)

    assert response.status_code == 200
    checks = response.get_json()["checks"]
    assert sorted(checks) == configured_dependencies
    # Each stand-in is in process ("embedded"); one the service can do without may be "disabled".
    assert set(checks.values()) <= {"embedded", "disabled"}
    assert checks["database"] == "embedded"


def test_not_ready_when_the_database_is_down(
    make_app: MakeApp,
    tmp_path: Path,
    configured_dependencies: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = tmp_path / "missing" / "orders.sqlite3"
    app = make_app(schema=False, DATABASE_URL=f"sqlite:///{unreachable}")

    assert_not_ready(app.test_client(), "database", configured_dependencies)

    # Why is for the operator's log, not for whoever can reach the probe.
    assert "readiness: database is failing: OperationalError" in caplog.text


def test_the_answer_names_states_only_never_addresses_or_errors(
    make_app: MakeApp, configured_dependencies: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "db.internal.example:5432 password authentication failed for user orders"

    def failing(_bound: float) -> None:
        raise ConnectionError(secret)

    with mock.patch.object(db.Database, "check", side_effect=failing):
        response = make_app().test_client().get("/readyz")

    assert response.status_code == 503
    assert "internal" not in response.get_data(as_text=True)
    assert set(response.get_json()["checks"].values()) <= STATES
    assert secret in caplog.text


def test_a_check_that_never_returns_costs_readiness_its_deadline_and_no_other_check(
    make_app: MakeApp, configured_dependencies: list[str], hanging: Hanging
) -> None:
    with mock.patch.object(db.Database, "check", side_effect=hanging):
        client = make_app(READINESS_TIMEOUT_SECONDS=0.1).test_client()
        began = time.monotonic()
        assert_not_ready(client, "database", configured_dependencies)
        waited = time.monotonic() - began
        again = client.get("/readyz").get_json()

    # Long against the deadline on a loaded machine, short against the hang.
    assert waited < 5, "readiness waited for the hanging check instead of its deadline"
    others = {name: state for name, state in again["checks"].items() if name != "database"}
    assert set(others.values()) <= {"ok", "embedded"}
    # The second probe shared the check still in flight instead of starting another.
    assert hanging.started == 1


def test_probes_arriving_together_share_the_check_in_flight(
    make_app: MakeApp, hanging: Hanging
) -> None:
    with mock.patch.object(db.Database, "check", side_effect=hanging):
        app = make_app(READINESS_TIMEOUT_SECONDS=0.1)
        with ThreadPoolExecutor(max_workers=10) as probers:
            answers = list(probers.map(lambda _: app.test_client().get("/readyz"), range(10)))

    assert [answer.status_code for answer in answers] == [503] * 10
    assert hanging.started == 1


def test_each_check_is_given_less_than_the_deadline(make_app: MakeApp) -> None:
    given: list[float] = []

    def check(bound: float) -> None:
        given.append(bound)

    with mock.patch.object(db.Database, "check", side_effect=check):
        make_app(READINESS_TIMEOUT_SECONDS=2).test_client().get("/readyz")

    assert given == [1.0]


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), "abc", [], True])
def test_readiness_needs_a_deadline_above_zero_or_the_start_stops(
    make_app: MakeApp, value: object
) -> None:
    # Else every probe fails at once (zero), or answers 500 (text, infinity).
    with pytest.raises(InvalidSetting, match=r"^FLASK_READINESS_TIMEOUT_SECONDS must be "):
        make_app(READINESS_TIMEOUT_SECONDS=value)


def test_the_unit_layer_cannot_reach_the_network() -> None:
    # pytest-socket also warns; with warnings as errors that warning is what a test sees.
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketBlockedError):
        socket.getaddrinfo("example.com", 80)
