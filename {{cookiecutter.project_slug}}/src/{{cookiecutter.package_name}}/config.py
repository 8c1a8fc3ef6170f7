"""Configuration: embedded defaults, overridden by ``FLASK_<NAME>`` environment variables.


Flask's ``from_prefixed_env`` parses each value as JSON when it can, so
``FLASK_READINESS_TIMEOUT_SECONDS=5`` arrives as a number and ``FLASK_DATABASE_URL=sqlite:///...`` as a
string.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    # None means "an SQLite file in the instance folder": the service runs with no infrastructure.
    "DATABASE_URL": None,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "LOG_LEVEL": "INFO",
    "LOG_JSON": True,
    "READINESS_TIMEOUT_SECONDS": 2.0,
{%- if cookiecutter.cache == "redis" %}
    # None disables the cache: reads go to the database.
    "REDIS_URL": None,
    "CACHE_TTL_SECONDS": 60,
    "CACHE_SOCKET_TIMEOUT_SECONDS": 0.25,
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
    # None keeps events in process (kombu's memory transport).
    "BROKER_URL": None,
    "BROKER_EXCHANGE": "orders",
    "BROKER_TIMEOUT_SECONDS": 2.0,
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    # None means no pricing service is configured: creating an order answers 503.
    "PRICING_URL": None,
    "PRICING_CONNECT_TIMEOUT_SECONDS": 1.0,
    "PRICING_READ_TIMEOUT_SECONDS": 2.0,
    "PRICING_RETRIES": 2,
    "PRICING_BACKOFF_SECONDS": 0.1,
    "PRICING_BREAKER_FAIL_MAX": 5,
    "PRICING_BREAKER_RESET_SECONDS": 30.0,
{%- endif %}
}


def load(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env()
    if overrides:
        app.config.from_mapping(overrides)
    if not app.config["DATABASE_URL"]:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "{{ cookiecutter.package_name }}.sqlite3")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
        app.config["EMBEDDED_DATABASE"] = True
