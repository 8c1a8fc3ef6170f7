"""The application factory: one Flask app wired to the dependencies configured for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config, db, dependencies, health, log, openapi, orders, problems


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Builds the app: defaults, then ``FLASK_*`` environment variables, then ``overrides``."""
    app = Flask(__name__, instance_relative_config=True)
    config.load(app, overrides)
    log.init_app(app)
    problems.init_app(app)
    db.init_app(app)
    for dependency in dependencies.modules():
        if hasattr(dependency, "init_app"):  # a database server's module only tunes the engine
            dependency.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(openapi.bp)
    return app
