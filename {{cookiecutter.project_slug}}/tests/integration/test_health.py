"""Readiness against the real dependencies: all up, ready; the database down, 503 naming it; any
dependency the service is built to survive down, still 200 with that dependency degraded."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.fixtures.database import MakeApp
from tests.fixtures.docker import Outage

from .conftest import DEPENDENCIES

READINESS_TIMEOUT = 1.0  # service_config's READINESS_TIMEOUT_SECONDS
# What a dependency that answers is reported as (the SQLite file is embedded, not a server).
USABLE = {"ok", "embedded"}
SURVIVABLE = [name for name in DEPENDENCIES if name != "database"]


def test_ready_when_every_dependency_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ready"
    assert sorted(body["checks"]) == sorted(DEPENDENCIES)
    assert set(body["checks"].values()) <= USABLE


def readiness_during(outage: Outage, make_app: MakeApp) -> tuple[Any, float, int]:
    """/readyz during the outage: the response, how long it took, and the liveness status."""
    with outage() as overrides:
        client = make_app(**overrides).test_client()
        began = time.perf_counter()
        response = client.get("/readyz")
        took = time.perf_counter() - began
        alive = client.get("/healthz").status_code
    return response, took, alive


def test_not_ready_when_the_database_is_down(make_app: MakeApp, database_outage: Outage) -> None:
    response, took, alive = readiness_during(database_outage, make_app)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["detail"] == "Not ready: database down."
    assert body["checks"]["database"] not in USABLE
    assert took < READINESS_TIMEOUT + 1.0
    assert alive == 200  # liveness does not depend on the dependencies


# A bake with no such dependency has no such test: an empty parameter list would report a skip.
if SURVIVABLE:

    @pytest.mark.parametrize("dependency", SURVIVABLE)
    def test_still_ready_and_reporting_the_dependency_degraded_when_it_is_down(
        dependency: str, make_app: MakeApp, request: pytest.FixtureRequest
    ) -> None:
        outage: Outage = request.getfixturevalue(f"{dependency}_outage")

        response, took, alive = readiness_during(outage, make_app)

        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert (body["status"], body["degraded"]) == ("degraded", [dependency])
        assert body["checks"][dependency] not in USABLE
        others = {name: outcome for name, outcome in body["checks"].items() if name != dependency}
        assert set(others.values()) <= USABLE
        assert took < READINESS_TIMEOUT + 1.0
        assert alive == 200
