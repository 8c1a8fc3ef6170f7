"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: every registered
dependency is checked within one short deadline, ``READINESS_TIMEOUT_SECONDS``).

Readiness fails (503) only for a dependency the service cannot work without (its database). One
it is built to survive is reported as degraded while the status stays 200: an orchestrator must
not take every replica out of rotation for an outage the service rides out.

No dependency can starve readiness. Each check runs in a thread of its own, one attempt, given
half the deadline as its bound (a client that cannot take one per call, the database's engine,
keeps to its own timeouts), and ``/readyz`` answers by the deadline whatever a check does. At
most one check per dependency is in flight (``wiring.Dependency.state``): probes that arrive
while it runs share it, so that a burst of probes, or a dependency that hangs, piles up neither
threads nor connections, and one dependency's check never waits for another's.

The answer names each dependency and its state (``ok``, ``embedded``, ``disabled``, ``failing``),
nothing more: why a check failed (host names, addresses, exception text) goes to the log, not to
whoever can reach the probe.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, wait

from flask import Blueprint, Flask, Response, current_app, jsonify

from . import config, wiring
from .access import public
from .problems import problem_response

bp = Blueprint("health", __name__)
logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    config.seconds(app, "READINESS_TIMEOUT_SECONDS")
    app.register_blueprint(bp)


@bp.get("/healthz")
@public
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@public
def readyz() -> Response:
    deadline = float(current_app.config["READINESS_TIMEOUT_SECONDS"])
    dependencies = wiring.of(current_app).dependencies
    states = {
        name: dependency.state(deadline / 2) for name, dependency in sorted(dependencies.items())
    }
    wait(states.values(), timeout=deadline)
    checks = {name: _reported(name, state, deadline) for name, state in states.items()}
    failing = [name for name, state in checks.items() if state == wiring.FAILING]
    down = [name for name in failing if dependencies[name].needed()]
    if down:
        detail = f"Not ready: {', '.join(down)} down."
        return problem_response(503, "Service Unavailable", detail, checks=checks)
    if failing:
        return jsonify({"status": "degraded", "degraded": failing, "checks": checks})
    return jsonify({"status": "ready", "checks": checks})


def _reported(name: str, state: Future[str], deadline: float) -> str:
    if not state.done():
        logger.warning("readiness: %s did not answer within %g s", name, deadline)
        return wiring.FAILING
    return state.result()
