"""Liveness, and readiness of every configured dependency."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
{%- if cookiecutter.upstream_api == "yes" %}
import requests
import responses
{%- endif %}
from flask.testing import FlaskClient
{%- if cookiecutter.message_broker == "rabbitmq" %}
from kombu.exceptions import OperationalError
{%- endif %}
from pytest_socket import SocketBlockedError

from {{ cookiecutter.package_name }} import db{% if cookiecutter.message_broker == "rabbitmq" %}, events{% endif %}

from .conftest import {% if cookiecutter.upstream_api == "yes" %}PRICING_URL, {% endif %}{% if cookiecutter.cache == "redis" %}FakeRedis, {% endif %}MakeApp

# Every dependency the unit configuration points at, in the order /readyz sorts them.
CONFIGURED = [
{%- if cookiecutter.message_broker == "rabbitmq" %}
    "broker",
{%- endif %}
{%- if cookiecutter.cache == "redis" %}
    "cache",
{%- endif %}
    "database",
{%- if cookiecutter.upstream_api == "yes" %}
    "pricing",
{%- endif %}
]


def assert_only_down(client: FlaskClient, name: str) -> str:
    """Asserts /readyz is a 503 naming ``name`` alone; returns what it says about ``name``."""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"] == f"Not ready: {name} down."
    assert sorted(problem["checks"]) == CONFIGURED
    checks = problem["checks"]
    assert {other: "ok" for other in CONFIGURED if other != name}.items() <= checks.items()
    outcome: str = checks[name]
    assert outcome != "ok"
    return outcome


def test_liveness_answers_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_when_every_configured_dependency_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": dict.fromkeys(CONFIGURED, "ok"),
    }


def test_not_ready_when_the_database_is_down(make_app: MakeApp, tmp_path: Path) -> None:
    unreachable = tmp_path / "missing" / "orders.sqlite3"
    app = make_app(schema=False, DATABASE_URL=f"sqlite:///{unreachable}")

    outcome = assert_only_down(app.test_client(), "database")

    assert outcome.startswith("OperationalError")


def test_a_hanging_dependency_costs_readiness_its_timeout(make_app: MakeApp) -> None:
    # Long enough for the answering checks on a loaded machine, short against the hang.
    app = make_app(READINESS_TIMEOUT_SECONDS=0.25)
    release = threading.Event()

    with mock.patch.object(db.Database, "check", side_effect=lambda: release.wait(30)):
        started = time.monotonic()
        try:
            outcome = assert_only_down(app.test_client(), "database")
            waited = time.monotonic() - started
        finally:
            release.set()

    assert outcome == "timed out after 0.25 s"
    assert waited < 10, "readiness waited for the hanging check instead of its timeout"
{%- if cookiecutter.cache == "redis" %}


def test_not_ready_when_the_cache_is_down(client: FlaskClient, fake_redis: FakeRedis) -> None:
    fake_redis.down = True

    outcome = assert_only_down(client, "cache")

    assert outcome.startswith("ConnectionError")


def test_an_unconfigured_cache_is_not_checked(make_app: MakeApp) -> None:
    response = make_app(REDIS_URL=None).test_client().get("/readyz")

    assert response.status_code == 200
    assert "cache" not in response.get_json()["checks"]
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}


def test_not_ready_when_the_broker_is_down(client: FlaskClient) -> None:
    refused = OperationalError("[Errno 111] Connection refused")

    with mock.patch.object(events, "Connection", side_effect=refused):
        outcome = assert_only_down(client, "broker")

    assert "Connection refused" in outcome


def test_an_unconfigured_broker_is_not_checked(make_app: MakeApp) -> None:
    response = make_app(BROKER_URL=None).test_client().get("/readyz")

    assert response.status_code == 200
    assert "broker" not in response.get_json()["checks"]
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}


HEALTH_URL = f"{PRICING_URL}/health"


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(responses.Response(responses.GET, HEALTH_URL, status=500), id="5xx"),
        pytest.param(responses.Response(responses.GET, HEALTH_URL, status=404), id="no endpoint"),
        pytest.param(
            responses.Response(responses.GET, HEALTH_URL, body=requests.ConnectionError("refused")),
            id="refused",
        ),
    ],
)
def test_not_ready_when_the_pricing_service_fails(
    client: FlaskClient, upstream: responses.RequestsMock, failure: responses.Response
) -> None:
    upstream.reset()
    upstream.add(failure)

    assert_only_down(client, "pricing")


def test_an_unconfigured_pricing_service_is_not_checked(make_app: MakeApp) -> None:
    response = make_app(PRICING_URL=None).test_client().get("/readyz")

    assert response.status_code == 200
    assert "pricing" not in response.get_json()["checks"]
{%- endif %}


def test_the_unit_layer_cannot_reach_the_network() -> None:
    # pytest-socket also warns; with warnings as errors that warning is what a test sees.
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketBlockedError):
        socket.getaddrinfo("example.com", 80)
