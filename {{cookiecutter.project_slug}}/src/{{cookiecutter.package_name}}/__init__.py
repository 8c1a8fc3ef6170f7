"""The application factory: one Flask app wired to the dependencies configured for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import (
{%- if cookiecutter.cache == "redis" %}
    cache,
{%- endif %}
    config,
    db,
{%- if cookiecutter.message_broker == "rabbitmq" %}
    events,
{%- endif %}
    health,
    log,
    openapi,
    orders,
{%- if cookiecutter.upstream_api == "yes" %}
    pricing,
{%- endif %}
    problems,
)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Builds the app: defaults, then ``FLASK_*`` environment variables, then ``overrides``."""
    app = Flask(__name__, instance_relative_config=True)
    config.load(app, overrides)
    log.init_app(app)
    problems.init_app(app)
    db.init_app(app)
{%- if cookiecutter.cache == "redis" %}
    cache.init_app(app)
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
    events.init_app(app)
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    pricing.init_app(app)
{%- endif %}
    app.register_blueprint(health.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(openapi.bp)
    return app
