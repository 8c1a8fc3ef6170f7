"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: every registered
dependency is checked within one short deadline, ``READINESS_TIMEOUT_SECONDS``).

Readiness fails (503) only for a dependency the service cannot work without (its database). One
it is built to survive is reported as degraded while the status stays 200: an orchestrator must
not take every replica out of rotation for an outage the service rides out.

No dependency can starve readiness. Each check runs in a thread of its own, one attempt, given
half the deadline as its bound (a client that cannot take one per call, the database's engine,
keeps to its own timeouts), and ``/readyz`` answers by the deadline whatever a check does. At most one check per dependency is in flight: probes that arrive while it runs share
it, so that a burst of probes, or a dependency that hangs, piles up neither threads nor
connections, and one dependency's check never waits for another's.

The answer names each dependency and its state (``ok``, ``embedded``, ``disabled``, ``failing``),
nothing more: why a check failed (host names, addresses, exception text) goes to the log, not to
whoever can reach the probe.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, wait

from flask import Blueprint, Flask, Response, current_app, jsonify

from . import config, wiring
from .problems import problem_response

EXTENSION = "{{ cookiecutter.package_name }}.health"
OK = "ok"
FAILING = "failing"
bp = Blueprint("health", __name__)
logger = logging.getLogger(__name__)


class Probe:
    """One dependency's readiness check, run at most once at a time."""

    def __init__(self, name: str, check: wiring.Check) -> None:
        self.name = name
        self.check = check
        self._lock = threading.Lock()
        self._running: Future[str] | None = None

    def state(self, bound: float) -> Future[str]:
        """The state the check in flight will report, or a new check's, given ``bound`` seconds."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(
                    target=self._run,
                    args=(self._running, bound),
                    name=f"readiness-{self.name}",
                    daemon=True,
                ).start()
            return self._running

    def _run(self, outcome: Future[str], bound: float) -> None:
        try:
            state = self.check(bound) or OK
        except Exception as error:  # whatever a check raises, its dependency is unusable
            logger.warning(
                "readiness: %s is failing: %s: %s", self.name, type(error).__name__, error
            )
            state = FAILING
        outcome.set_result(state)


def init_app(app: Flask) -> None:
    config.seconds(app, "READINESS_TIMEOUT_SECONDS")
    app.extensions[EXTENSION] = {}
    app.register_blueprint(bp)


def _probe(app: Flask, name: str, dependency: wiring.Dependency) -> Probe:
    probes: dict[str, Probe] = app.extensions[EXTENSION]
    probe = probes.get(name)
    if probe is None or probe.check is not dependency.check:
        probe = probes[name] = Probe(name, dependency.check)
    return probe


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    deadline = float(current_app.config["READINESS_TIMEOUT_SECONDS"])
    dependencies = wiring.registered(current_app)
    states = {
        name: _probe(current_app, name, dependency).state(deadline / 2)
        for name, dependency in sorted(dependencies.items())
    }
    wait(states.values(), timeout=deadline)
    checks = {name: _reported(name, state, deadline) for name, state in states.items()}
    failing = [name for name, state in checks.items() if state == FAILING]
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
        return FAILING
    return state.result()
