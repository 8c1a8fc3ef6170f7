"""The unit layer: the app in process, every boundary replaced, the network forbidden.

Every dependency is configured and answered in process: the database is SQLite in memory (one
shared connection), its tables made with ``create_all``; each other dependency has a module of
fakes in ``fakes/`` (imported below), listed in ``FAKES``: the fixture that points the app at its
fake, and the one that resets it. Any real socket or DNS lookup fails the test (pytest-socket).

The tests share one app (``app``, ``client``, ``orders``), built once for the layer: building one
costs milliseconds, most of them werkzeug compiling its URL rules, and hundreds of tests would
spend seconds on it. Each test finds it as built all the same: its tables emptied, its settings and
wiring put back, and each dependency's fake (and what the app keeps of it, such as a circuit
breaker's count) reset by its fixture in ``FAKES``. A test that needs other settings builds
an app of its own with ``make_app(**settings)``.
"""

from __future__ import annotations

import copy
import dataclasses
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
{%- if cookiecutter.observability == "otel" %}
from tests.support.telemetry import *{% endif %}
{%- if cookiecutter.auth == "jwt" %}
from tests.unit.fakes.auth import *{% endif %}
{%- if cookiecutter.cache == "redis" %}
from tests.unit.fakes.cache import *{% endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
from tests.unit.fakes.events import *{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.unit.fakes.pricing import *{% endif %}


@dataclasses.dataclass(frozen=True)
class Fake:
    """A dependency's stand-in, by its fixtures: ``settings`` points the service at it (once for
    the layer), ``reset`` clears what it and the shared app keep of it, before every test (data,
    messages, answers, a circuit breaker's count, keys fetched)."""

    settings: str
    reset: str


FAKES: dict[str, Fake] = {
    # each dependency besides the database, by the name readiness reports
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    "broker": Fake("fake_broker_settings", "fake_broker_reset"),{% endif %}
    {%- if cookiecutter.cache == "redis" %}
    "cache": Fake("fake_cache_settings", "fake_cache_reset"),{% endif %}
    {%- if cookiecutter.auth == "jwt" %}
    "identity": Fake("fake_auth_settings", "fake_auth_reset"),{% endif %}
    {%- if cookiecutter.upstream_api == "yes" %}
    "pricing": Fake("fake_pricing_settings", "fake_pricing_reset"),{% endif %}
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


@pytest.fixture(scope="package", autouse=True)
def _no_flask_environment() -> Iterator[None]:
    # FLASK_* variables of the developer's shell must not point the layer's apps at real services;
    # before any app is built, the shared one included.
    with pytest.MonkeyPatch.context() as environment:
        for name in [name for name in os.environ if name.startswith("FLASK_")]:
            environment.delenv(name)
        yield


@pytest.fixture(autouse=True)
def _fakes_reset(request: pytest.FixtureRequest) -> None:
    for fake in FAKES.values():
        request.getfixturevalue(fake.reset)


@pytest.fixture
def configured_dependencies() -> list[str]:
    """Every dependency the unit configuration points at, the database included, in name order."""
    return sorted(["database", *FAKES])


@pytest.fixture(scope="package")
def service_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every dependency configured, each answered by its fake."""
    settings = merged(request, [fake.settings for fake in FAKES.values()])
    return {"TESTING": True, "DATABASE_URL": "sqlite://", **settings}


@pytest.fixture(scope="package")
def caller_client(request: pytest.FixtureRequest) -> type[FlaskClient]:
    """The test client class of the layer's apps: its requests carry the caller's headers."""
    return client_sending(merged(request, CALLER_HEADERS))


def built(config: dict[str, Any], instance: Path, client: type[FlaskClient], schema: bool) -> Flask:
    app = create_app(config, instance_path=str(instance))
    app.test_client_class = client
    if schema:
        Base.metadata.create_all(engine_of(app), checkfirst=False)
        db.stamp(engine_of(app))
    return app


@pytest.fixture
def make_app(
    service_config: dict[str, Any], caller_client: type[FlaskClient], tmp_path: Path
) -> Iterator[MakeApp]:
    """Builds an app of the test's own from the unit configuration and ``overrides``; its schema
    is made unless ``schema=False``. Its instance folder is the test's own. What the apps hold
    is released after the test."""
    apps: list[Flask] = []

    def make(schema: bool = True, **overrides: object) -> Flask:
        config = {**service_config, **overrides}
        apps.append(built(config, tmp_path / "instance", caller_client, schema))
        return apps[-1]

    yield make
    for app in apps:
        wiring.close(app)


@dataclasses.dataclass(frozen=True)
class AsBuilt:
    """What a test can change of the shared app without rebuilding it, as it was built."""

    config: dict[str, Any]
    wired: wiring.Wiring

    @classmethod
    def of(cls, app: Flask) -> AsBuilt:
        return cls(dict(app.config), fresh_copy(wiring.of(app)))

    def restore(self, app: Flask) -> None:
        app.config.clear()
        app.config.update(self.config)
        wiring.WIRING.set(app, fresh_copy(self.wired))
        with engine_of(app).begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


def fresh_copy(wired: wiring.Wiring) -> wiring.Wiring:
    # Lists and dicts of its own: what a test adds to the app's wiring stays out of the next one's.
    containers: dict[str, Any] = {
        field.name: copy.copy(value)
        for field in dataclasses.fields(wired)
        if isinstance(value := getattr(wired, field.name), list | dict)
    }
    return dataclasses.replace(wired, **containers)


@pytest.fixture(scope="package")
def shared_app(
    service_config: dict[str, Any],
    caller_client: type[FlaskClient],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """The app the layer's tests share; ``app`` gives it as built."""
    app = built(service_config, tmp_path_factory.mktemp("instance"), caller_client, schema=True)
    yield app
    wiring.close(app)


@pytest.fixture(scope="package")
def as_built(shared_app: Flask) -> AsBuilt:
    return AsBuilt.of(shared_app)


@pytest.fixture
def app(shared_app: Flask, as_built: AsBuilt) -> Flask:
    """The layer's app, as built: no rows, its own settings and wiring."""
    as_built.restore(shared_app)
    return shared_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)
