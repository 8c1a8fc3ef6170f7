"""The integration layer: the app in process against real dependencies in containers.

Each dependency has a fixture module in ``tests/fixtures`` (imported below) that
starts its container once per session; its settings fixture (``SETTINGS``) points the service at
it.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.fixtures.database import *
from tests.fixtures.docker import *
{%- if cookiecutter.auth == "jwt" %}
from tests.fixtures.identity import *{% endif %}
{%- if cookiecutter.database == "mariadb" %}
from tests.fixtures.mariadb import *{% endif %}
{%- if cookiecutter.database == "postgresql" %}
from tests.fixtures.postgresql import *{% endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
from tests.fixtures.rabbitmq import *{% endif %}
{%- if cookiecutter.cache == "redis" %}
from tests.fixtures.redis import *{% endif %}
from tests.fixtures.service import *
{%- if cookiecutter.database == "sqlite" %}
from tests.fixtures.sqlite import *{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.fixtures.wiremock import *{% endif %}
from tests.support.api import Orders
from tests.support.fixtures import merged
from tests.support.readiness import READINESS_TIMEOUT
{%- if cookiecutter.observability == "otel" %}
from tests.support.telemetry import *{% endif %}

SETTINGS: dict[str, str] = {
    # each dependency besides the database, by the name readiness reports: the fixture that
    # points the service at its container
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    "broker": "broker_settings",{% endif %}
    {%- if cookiecutter.cache == "redis" %}
    "cache": "cache_settings",{% endif %}
    {%- if cookiecutter.auth == "jwt" %}
    "identity": "identity_settings",{% endif %}
    {%- if cookiecutter.upstream_api == "yes" %}
    "pricing": "pricing_settings",{% endif %}
}
# What every request of the apps' test clients carries, by the fixture that gives it (a caller's
# credentials); a request that sets the same header sends its own.
CALLER_HEADERS: list[str] = [
    # one fixture per dependency that authenticates callers
    {%- if cookiecutter.auth == "jwt" %}
    "identity_headers",{% endif %}
]


@pytest.fixture
def configured_dependencies() -> list[str]:
    """Every dependency the service is configured with here, the database included, in name order."""
    return sorted(["database", *SETTINGS])


@pytest.fixture
def service_config(
    database_url: str, database_settings: dict[str, Any], request: pytest.FixtureRequest
) -> dict[str, Any]:
    """The service configured for the real dependencies, with short timeouts so that failure
    scenarios cost a fraction of a second."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        **database_settings,
        "READINESS_TIMEOUT_SECONDS": READINESS_TIMEOUT,
        **merged(request, SETTINGS.values()),
    }


@pytest.fixture
def caller_headers(request: pytest.FixtureRequest) -> dict[str, str]:
    return merged(request, CALLER_HEADERS)


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)
