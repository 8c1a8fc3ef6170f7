"""Readiness while a dependency is out, for the layers that run the app in process against real
dependencies: each dependency's tests say what its outage does to ``/readyz``.

The body names each dependency and its state, nothing else: no host, no URL, no exception text
(whoever may probe ``/readyz`` learns no more than which dependency is out)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from werkzeug.test import TestResponse

from .apps import MakeApp

# A dependency made unavailable for the length of a ``with`` block; it yields configuration
# overrides for an app created inside the block (usually none).
Outage = Callable[[], contextlib.AbstractContextManager[dict[str, Any]]]
# How long /readyz waits for the checks in the integration layer: short, so that an outage costs
# a fraction of a second.
READINESS_TIMEOUT = 0.5
# Each check is bounded on its own, by half of that: what a check that hangs costs a probe.
CHECK_BOUND = READINESS_TIMEOUT / 2
# What a dependency that answers is reported as (the SQLite file is embedded, not a server).
USABLE = {"ok", "embedded"}
# What one that does not answer, or not in time, is reported as.
FAILING = "failing"
# Every state /readyz reports: a dependency the service was configured without is disabled.
STATES = {*USABLE, "disabled", FAILING}


def assert_states_only(body: dict[str, Any]) -> None:
    """Asserts that a /readyz body reports a state from ``STATES`` for each dependency, and no
    more: why a check failed (an exception's text, a host, a URL) stays in the service's log."""
    assert set(body["checks"].values()) <= STATES, body["checks"]


def readiness_during(outage: Outage, make_app: MakeApp) -> tuple[TestResponse, float, int]:
    """/readyz during the outage: the response, how long it took, and the liveness status."""
    with outage() as overrides:
        client = make_app(**overrides).test_client()
        began = time.perf_counter()
        response = client.get("/readyz")
        took = time.perf_counter() - began
        alive = client.get("/healthz").status_code
    return response, took, alive


def assert_degraded_during(outage: Outage, make_app: MakeApp, dependency: str) -> None:
    """Asserts that while ``dependency`` is out, /readyz answers 200 within its timeout, reporting
    that dependency alone as degraded, and liveness stays 200."""
    response, took, alive = readiness_during(outage, make_app)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["degraded"]) == ("degraded", [dependency])
    assert_states_only(body)
    assert body["checks"][dependency] == FAILING
    others = {name: outcome for name, outcome in body["checks"].items() if name != dependency}
    assert set(others.values()) <= USABLE
    assert took < READINESS_TIMEOUT + 1.0
    assert alive == 200
