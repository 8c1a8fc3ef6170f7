"""Readiness against the real dependencies: all up, 200; any one down, 503 naming it."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient

from tests.fixtures.database import MakeApp
from tests.fixtures.docker import Outage

DEPENDENCIES = [
    "database",
{%- if cookiecutter.cache == "redis" %}
    "cache",
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
    "broker",
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    "pricing",
{%- endif %}
]
READINESS_TIMEOUT = 0.5  # service_config's READINESS_TIMEOUT_SECONDS


def test_ready_when_every_dependency_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "status": "ready",
        "checks": dict.fromkeys(DEPENDENCIES, "ok"),
    }


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_not_ready_naming_the_dependency_that_is_down(
    dependency: str, make_app: MakeApp, request: pytest.FixtureRequest
) -> None:
    outage: Outage = request.getfixturevalue(f"{dependency}_outage")

    with outage() as overrides:
        client = make_app(**overrides).test_client()
        began = time.perf_counter()
        response = client.get("/readyz")
        took = time.perf_counter() - began
        alive = client.get("/healthz")

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["detail"] == f"Not ready: {dependency} down."
    assert body["checks"][dependency] != "ok"
    assert {name: outcome for name, outcome in body["checks"].items() if name != dependency} == {
        name: "ok" for name in DEPENDENCIES if name != dependency
    }
    assert took < READINESS_TIMEOUT + 1.0
    assert alive.status_code == 200  # liveness does not depend on the dependencies
