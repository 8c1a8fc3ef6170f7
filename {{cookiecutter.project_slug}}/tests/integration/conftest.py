"""The integration layer: the app in process against real dependencies in containers
{%- if cookiecutter.upstream_api == "yes" %} and a
virtualized upstream (WireMock){% endif %}.

Fixtures come from one module per dependency in ``tests/fixtures``. They are imported here rather
than listed in ``pytest_plugins``, which pytest accepts only in the rootdir's conftest: this
layer also runs as part of a plain ``pytest``. Each module exports its fixtures and hooks.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.fixtures.database import *  # noqa: F403
from tests.fixtures.docker import *  # noqa: F403
{%- if cookiecutter.database == "postgresql" %}
from tests.fixtures.postgresql import *  # noqa: F403
{%- elif cookiecutter.database == "mariadb" %}
from tests.fixtures.mariadb import *  # noqa: F403
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
from tests.fixtures.rabbitmq import *  # noqa: F403
{%- endif %}
{%- if cookiecutter.cache == "redis" %}
from tests.fixtures.redis import *  # noqa: F403
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.fixtures.wiremock import *  # noqa: F403
{%- endif %}

from ..orders_api import Orders


@pytest.fixture
def service_config(
    database_url: str,
{%- if cookiecutter.cache == "redis" %}
    cache_settings: dict[str, Any],
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
    broker_settings: dict[str, Any],
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    pricing_settings: dict[str, Any],
{%- endif %}
) -> dict[str, Any]:
    """The service configured for the real dependencies, with short timeouts so that failure
    scenarios cost a fraction of a second."""
    return {
        "TESTING": True,
        "LOG_JSON": False,
        "DATABASE_URL": database_url,
        "READINESS_TIMEOUT_SECONDS": 0.5,
{%- if cookiecutter.cache == "redis" %}
        **cache_settings,
{%- endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
        **broker_settings,
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
        **pricing_settings,
{%- endif %}
    }


@pytest.fixture
def orders(client: FlaskClient) -> Orders:
    return Orders(client)
