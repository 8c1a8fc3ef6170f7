"""The integration layer: the app in process against real dependencies in containers.

Each dependency has a fixture module in ``tests/fixtures`` exporting its fixtures; every module
there is taken in (rather than listed in ``pytest_plugins``, which pytest accepts only in the
rootdir's conftest: this layer also runs as part of a plain ``pytest``), so that this file names
no dependency. ``service_config`` merges each module's ``<dependency>_settings``.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from ..orders_api import Orders
from ..plugins import dependency_names, gather, settings_fixtures

FIXTURES = gather("tests.fixtures")
globals().update(FIXTURES)
# Every dependency the service is configured with here, the database first.
DEPENDENCIES = ["database", *dependency_names(FIXTURES)]


@pytest.fixture
def service_config(database_url: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The service configured for the real dependencies, with short timeouts so that failure
    scenarios cost a fraction of a second."""
    config: dict[str, Any] = {
        "TESTING": True,
        "LOG_JSON": False,
        "DATABASE_URL": database_url,
        "READINESS_TIMEOUT_SECONDS": 1.0,
    }
    for name in settings_fixtures(FIXTURES):
        config.update(request.getfixturevalue(name))
    return config


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)
