"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: every configured
dependency answers within a short timeout; 503 naming those that do not)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Blueprint, Response, current_app, jsonify

from . import (
{%- if cookiecutter.cache == "redis" %}
    cache,
{%- endif %}
    db,
{%- if cookiecutter.message_broker == "rabbitmq" %}
    events,
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    pricing,
{%- endif %}
)
from .problems import problem_response

bp = Blueprint("health", __name__)
# Checks run in threads, so that one that hangs (a paused server) costs /readyz its timeout, not
# the caller's patience. The pool is shared and small: readiness probes are infrequent.
_checks_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readiness")


def dependency_checks() -> dict[str, Callable[[], None]]:
    """One check per configured dependency; each raises when its dependency is not usable."""
    checks: dict[str, Callable[[], None]] = {"database": db.database().check}
{%- if cookiecutter.cache == "redis" %}
    if current_app.config["REDIS_URL"]:
        checks["cache"] = cache.order_cache().check
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
    if current_app.config["BROKER_URL"]:
        checks["broker"] = events.publisher().check
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    if current_app.config["PRICING_URL"]:
        checks["pricing"] = pricing.client().check
{%- endif %}
    return checks


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    timeout = float(current_app.config["READINESS_TIMEOUT_SECONDS"])
    futures = {name: _checks_pool.submit(check) for name, check in dependency_checks().items()}
    # One deadline for all checks, which run side by side: /readyz answers within the timeout.
    wait(futures.values(), timeout=timeout)
    results = {name: _outcome(future, timeout) for name, future in futures.items()}
    down = sorted(name for name, outcome in results.items() if outcome != "ok")
    if down:
        return problem_response(
            503, "Service Unavailable", f"Not ready: {', '.join(down)} down.", checks=results
        )
    return jsonify({"status": "ready", "checks": results})


def _outcome(future: Future[None], timeout: float) -> str:
    if not future.done():
        return f"timed out after {timeout:g} s"
    error = future.exception()
    if error is not None:
        return f"{type(error).__name__}: {error}"
    return "ok"
