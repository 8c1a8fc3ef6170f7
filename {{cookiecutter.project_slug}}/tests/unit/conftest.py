"""The unit layer: the app in process, every boundary replaced, the network forbidden.

Each test gets its own app, with every dependency of the bake configured and answered in process:
the database is SQLite in memory (one shared connection), its tables made with ``create_all``;
each other dependency has a module of fakes in ``fakes/`` (taken in below, whichever exist) whose
``<dependency>_settings`` fixture points the app at its fake. Any real socket or DNS lookup fails
the test (pytest-socket).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pytest_socket import disable_socket

from {{ cookiecutter.package_name }} import create_app, db, wiring
from {{ cookiecutter.package_name }}.db import Base
from {{ cookiecutter.package_name }}.models import CREATED, Order

from ..orders_api import Orders
from ..plugins import dependency_names, gather, settings_fixtures

FAKES = gather("tests.unit.fakes")
globals().update(FAKES)
# Every dependency the unit configuration points at, the database included, in name order.
CONFIGURED = sorted(["database", *dependency_names(FAKES)])

MakeApp = Callable[..., Flask]


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
def service_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every dependency of the bake configured, each answered by its fake."""
    config: dict[str, Any] = {"TESTING": True, "DATABASE_URL": "sqlite://"}
    for name in settings_fixtures(FAKES):
        config.update(request.getfixturevalue(name))
    return config


@pytest.fixture
def make_app(service_config: dict[str, Any]) -> Iterator[MakeApp]:
    """Builds an app from the unit configuration and ``overrides``; its schema is made unless
    ``schema=False``. What the apps hold is released after the test."""
    apps: list[Flask] = []

    def make(schema: bool = True, **overrides: object) -> Flask:
        app = create_app({**service_config, **overrides})
        apps.append(app)
        if schema:
            Base.metadata.create_all(engine_of(app), checkfirst=False)
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


def engine_of(app: Flask) -> sa.Engine:
    database: db.Database = app.extensions[db.EXTENSION]
    return database.engine


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)


def stored_orders(app: Flask, count: int) -> list[int]:
    """Stores ``count`` orders straight into the database; returns their ids in order."""
    with app.app_context():
        session = db.session()
        orders = [
            Order(sku=f"SKU-{n}", quantity=1, unit_price=Decimal("1.00"), currency="EUR")
            for n in range(count)
        ]
        for order in orders:
            order.change_status(CREATED)
        session.add_all(orders)
        session.commit()
        return [order.id for order in orders]


def count_rows(app: Flask, table: str) -> int:
    with engine_of(app).connect() as connection:
        count: int = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
    return count


def assert_degraded(client: FlaskClient, name: str) -> str:
    """Asserts /readyz stays 200 and reports ``name`` alone as degraded; returns its outcome."""
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["degraded"] == [name]
    assert sorted(body["checks"]) == CONFIGURED
    outcome: str = body["checks"][name]
    return outcome


def assert_invalid_field(app: Flask, client: FlaskClient, body: dict[str, Any], field: str) -> None:
    """Asserts ``POST /orders`` with ``body`` is a 422 naming ``field``, and stores nothing."""
    response = client.post("/orders", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert field in [error["field"] for error in response.get_json()["errors"]]
    assert count_rows(app, "orders") == 0
