"""Readiness against the real dependencies: all up, ready; the database down, 503 naming it. (A
dependency the service is built to survive keeps it ready, degraded: its own tests say so.)"""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.apps import MakeApp
from tests.support.readiness import (
    FAILING,
    READINESS_TIMEOUT,
    USABLE,
    Outage,
    assert_states_only,
    readiness_during,
)


def test_ready_when_every_dependency_answers(
    client: FlaskClient, configured_dependencies: list[str]
) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ready"
    assert sorted(body["checks"]) == configured_dependencies
    assert set(body["checks"].values()) <= USABLE
    assert set(body) == {"status", "checks"}


def test_not_ready_when_the_database_is_down(make_app: MakeApp, database_outage: Outage) -> None:
    response, took, alive = readiness_during(database_outage, make_app)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["detail"] == "Not ready: database down."
    assert_states_only(body)
    assert body["checks"]["database"] == FAILING
    assert took < READINESS_TIMEOUT + 1.0
    assert alive == 200  # liveness does not depend on the dependencies
