"""The database server of the stack made unavailable while orders are being created: paused (it
accepts connections and answers nothing), stopped and started, disconnected from the network and
reconnected. Every request answers within the bound (a 503 problem when it needs the database),
never a 500 or a hang, and the service recovers without a restart; meanwhile its health check
tells compose (and any orchestrator) that it cannot serve, and its readiness says which dependency
is down, and nothing more of it."""

from __future__ import annotations

import pytest

from tests.e2e.client import Service, assert_only_states, eventually
from tests.e2e.outages import FAULTS, assert_database_outage_is_bounded_and_recovers
from tests.e2e.stack import APP, Query, Stack


@pytest.mark.parametrize("kind", FAULTS)
def test_a_database_outage_is_a_bounded_503_and_recovers_without_restart(
    kind: str, stack: Stack, service: Service, database_service: str, database_query: Query
) -> None:
    assert_database_outage_is_bounded_and_recovers(
        stack, service, database_service, database_query, kind
    )


def test_the_services_health_check_fails_while_the_database_is_down(
    stack: Stack, service: Service, database_service: str
) -> None:
    assert stack.health_check(APP) == 0

    with stack.paused(database_service):
        while_down = stack.health_check(APP)
        ready = service.get("/readyz")

    assert while_down != 0, "the health check passes with the database down: it asks liveness"
    assert (ready.status, ready.problem) == (503, True), ready
    assert ready.body["detail"] == "Not ready: database down.", ready
    assert ready.body["checks"]["database"] == "failing", ready
    assert_only_states(ready)
    eventually(lambda: stack.health_check(APP) == 0, timeout=5)
