"""The unit layer: the app in process, every boundary replaced, the network forbidden.

Each test gets its own app, with every dependency configured and answered in process: the
database is SQLite in memory (one shared connection), its tables made with ``create_all``; each
other dependency has a module of fakes in ``fakes/`` (imported below) whose settings
fixture (``FAKE_SETTINGS``) points the app at its fake. Any real socket or DNS lookup fails the
test (pytest-socket).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_socket import disable_socket

from {{ cookiecutter.package_name }} import create_app, db, wiring
from {{ cookiecutter.package_name }}.db import Base
from tests.support.api import Orders
from tests.support.apps import MakeApp, client_sending, engine_of
from tests.support.fixtures import merged
{%- if cookiecutter.auth == "jwt" %}
from tests.unit.fakes.auth import *{% endif %}
{%- if cookiecutter.cache == "redis" %}
from tests.unit.fakes.cache import *{% endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
from tests.unit.fakes.events import *{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.unit.fakes.pricing import *{% endif %}

FAKE_SETTINGS: dict[str, str] = {
    # each dependency besides the database, by the name readiness reports: the fixture that
    # points the service at its fake
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    "broker": "fake_broker_settings",{% endif %}
    {%- if cookiecutter.cache == "redis" %}
    "cache": "fake_cache_settings",{% endif %}
    {%- if cookiecutter.auth == "jwt" %}
    "identity": "fake_auth_settings",{% endif %}
    {%- if cookiecutter.upstream_api == "yes" %}
    "pricing": "fake_pricing_settings",{% endif %}
}
# What every request of the apps' test clients carries, by the fixture that gives it (a caller's
# credentials); a request that sets the same header sends its own.
CALLER_HEADERS: list[str] = [
    # one fixture per dependency that authenticates callers
    {%- if cookiecutter.auth == "jwt" %}
    "fake_auth_headers",{% endif %}
]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture runs: nothing in this layer may open a socket or resolve a name.
    disable_socket(allow_unix_socket=False)


@pytest.fixture(autouse=True)
def _no_flask_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # FLASK_* variables of the developer's shell must not point unit tests at real services.
    for name in [name for name in os.environ if name.startswith("FLASK_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def configured_dependencies() -> list[str]:
    """Every dependency the unit configuration points at, the database included, in name order."""
    return sorted(["database", *FAKE_SETTINGS])


@pytest.fixture
def service_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every dependency configured, each answered by its fake."""
    return {"TESTING": True, "DATABASE_URL": "sqlite://", **merged(request, FAKE_SETTINGS.values())}


@pytest.fixture
def make_app(
    service_config: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[MakeApp]:
    """Builds an app from the unit configuration and ``overrides``; its schema is made unless
    ``schema=False``. Its instance folder is the test's own; its test clients send the caller's
    headers. What the apps hold is released after the test."""
    apps: list[Flask] = []
    headers = merged(request, CALLER_HEADERS)

    def make(schema: bool = True, **overrides: object) -> Flask:
        app = create_app({**service_config, **overrides}, instance_path=str(tmp_path / "instance"))
        app.test_client_class = client_sending(headers)
        apps.append(app)
        if schema:
            Base.metadata.create_all(engine_of(app), checkfirst=False)
            db.stamp(engine_of(app))
        return app

    yield make
    for app in apps:
        wiring.close(app)


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)
