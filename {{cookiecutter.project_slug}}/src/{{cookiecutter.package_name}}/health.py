"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: every registered
dependency is checked within one short deadline).

Readiness fails (503) only for a dependency the service cannot work without (its database). One
it is built to survive is reported as degraded while the status stays 200: an orchestrator must
not take every replica out of rotation for an outage the service rides out.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Blueprint, Response, current_app, jsonify

from . import wiring
from .problems import problem_response

bp = Blueprint("health", __name__)
# Checks run in threads, so that one that hangs (a paused server) costs /readyz its timeout, not
# the caller's patience. The pool is shared and small: readiness probes are infrequent.
_checks_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readiness")


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    dependencies = wiring.registered(current_app)
    timeout = float(current_app.config["READINESS_TIMEOUT_SECONDS"])
    futures = {name: _checks_pool.submit(d.check) for name, d in sorted(dependencies.items())}
    # One deadline for all checks, which run side by side: /readyz answers within the timeout.
    wait(futures.values(), timeout=timeout)
    checks = {name: _outcome(future, timeout) for name, future in futures.items()}
    failing = [name for name, future in futures.items() if not _succeeded(future)]
    down = [name for name in failing if dependencies[name].needed()]
    if down:
        detail = f"Not ready: {', '.join(down)} down."
        return problem_response(503, "Service Unavailable", detail, checks=checks)
    if failing:
        return jsonify({"status": "degraded", "degraded": failing, "checks": checks})
    return jsonify({"status": "ready", "checks": checks})


def _succeeded(future: Future[str | None]) -> bool:
    return future.done() and future.exception() is None


def _outcome(future: Future[str | None], timeout: float) -> str:
    """``ok``, the check's own note (such as ``embedded``), or why it failed."""
    if not future.done():
        return f"timed out after {timeout:g} s"
    error = future.exception()
    if error is not None:
        return f"{type(error).__name__}: {error}"
    return future.result() or "ok"
