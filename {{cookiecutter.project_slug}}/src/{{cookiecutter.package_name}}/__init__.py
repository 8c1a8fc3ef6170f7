"""The application factory: one Flask app wired to the dependencies configured for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from . import config, db, health, log, openapi, orders, problems, wiring
{%- if cookiecutter.auth == "jwt" %}
from .dependencies.auth import init_app as init_auth{% endif %}
{%- if cookiecutter.cache == "redis" %}
from .dependencies.cache import init_app as init_cache{% endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
from .dependencies.events import init_app as init_events{% endif %}
{%- if cookiecutter.upstream_api == "no" %}
from .dependencies.price_in_request import init_app as init_price_in_request{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from .dependencies.pricing import init_app as init_pricing{% endif %}
{%- if cookiecutter.observability == "otel" %}
from .dependencies.telemetry import init_app as init_telemetry{% endif %}

# The service's dependencies besides its database. Each ``init_app`` registers what its
# dependency brings: the defaults of its settings, its readiness check (and whether the service
# can work without it), its commands, and what it adds to the orders resource. Their request
# hooks run in this order too: one that must see every request comes first.
DEPENDENCIES: tuple[Callable[[Flask], None], ...] = (
    # one line each, initialised in this order
    {%- if cookiecutter.observability == "otel" %}
    init_telemetry,{% endif %}
    {%- if cookiecutter.auth == "jwt" %}
    init_auth,{% endif %}
    {%- if cookiecutter.cache == "redis" %}
    init_cache,{% endif %}
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    init_events,{% endif %}
    {%- if cookiecutter.upstream_api == "no" %}
    init_price_in_request,{% endif %}
    {%- if cookiecutter.upstream_api == "yes" %}
    init_pricing,{% endif %}
)


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    embedded_defaults: bool = True,
    instance_path: str | None = None,
) -> Flask:
    """Builds the app: defaults, then ``FLASK_*`` environment variables, then ``overrides``.

    ``embedded_defaults`` is the default of ``EMBEDDED_DEFAULTS`` (the production entry point
    turns it off); ``instance_path`` is where the embedded database lives (Flask's default: an
    ``instance`` folder beside the package)."""
    # No static folder: the service serves no files, and every route it has says who may call it.
    app = Flask(
        __name__, static_folder=None, instance_path=instance_path, instance_relative_config=True
    )
    config.load(app, overrides, embedded_defaults=embedded_defaults)
    wiring.init_app(app)
    log.init_app(app)
    problems.init_app(app)
    db.init_app(app)
    for init_dependency in DEPENDENCIES:
        init_dependency(app)
    health.init_app(app)
    app.register_blueprint(orders.bp)
    app.register_blueprint(openapi.bp)
    return app
