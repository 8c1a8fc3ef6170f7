"""The database server of the stack made unavailable while orders are being created: paused (it
accepts connections and answers nothing), stopped and started, disconnected from the network and
reconnected. Every request answers within the bound (a 503 problem when it needs the database),
never a 500 or a hang, and the service recovers without a restart; meanwhile its health check
tells compose (and any orchestrator) that it cannot serve, and its readiness says which dependency
is down, and nothing more of it."""

from __future__ import annotations

import pytest

from tests.e2e.client import Service, assert_each_accepted_order_stored_once, outage_under_load
from tests.e2e.stack import APP, Query, Stack, eventually
from tests.support.readiness import assert_states_only


@pytest.mark.parametrize("kind", ["paused", "stopped", "disconnected"])
def test_a_database_outage_is_a_bounded_503_and_recovers_without_restart(
    kind: str,
    stack: Stack,
    service: Service,
    database_service: str,
    database_query: Query,
    database_settings: dict[str, float],
) -> None:
    call = database_settings["DATABASE_CALL_TIMEOUT_SECONDS"]
    with outage_under_load(stack, service, database_service, kind, seconds=3 * call) as done:
        pass

    done.assert_bounded()
    # The outage was felt: answered as unavailable, or held up beyond a round trip's deadline (a
    # frozen server may be back before a new connection's timeout runs out).
    felt = done.statuses().get(503) or done.slowest() > call
    assert felt, f"the outage was not felt: {done.summary()}"
    assert service.wait_ready(timeout=10).status == 200
    assert service.create().status == 201
    assert_each_accepted_order_stored_once(done, database_query)


def health_check(stack: Stack) -> int:
    """The exit code of the service's health check, as compose configures it, run once."""
    kind, *command = stack.config["services"][APP]["healthcheck"]["test"]
    argv = ["sh", "-c", *command] if kind == "CMD-SHELL" else command
    exit_code: int = stack.container(APP).exec_run(argv).exit_code
    return exit_code


def test_the_services_health_check_fails_while_the_database_is_down(
    stack: Stack, service: Service, database_service: str
) -> None:
    # Passing first: on a loaded runner, the check run just after another scenario's outage has
    # failed once, its database back.
    eventually(lambda: health_check(stack) == 0, timeout=5)

    with stack.fault(database_service, "paused"):
        while_down = health_check(stack)
        ready = service.get("/readyz")

    assert while_down != 0, "the health check passes with the database down: it asks liveness"
    assert (ready.status, ready.problem) == (503, True), ready
    assert ready.body["detail"] == "Not ready: database down.", ready
    assert ready.body["checks"]["database"] == "failing", ready
    assert_states_only(ready.body)
    eventually(lambda: health_check(stack) == 0, timeout=5)
