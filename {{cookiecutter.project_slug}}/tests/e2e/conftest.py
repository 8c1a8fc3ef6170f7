"""The end-to-end layer: the service's image and every dependency, as compose.yaml describes them,
driven from outside as a black box; a database query only proves what was stored. Each
dependency's module in ``services/`` (imported below) says how to reach it, and its override
(``OVERRIDES``) shortens its timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.client import LOADS, Service
{%- if cookiecutter.auth == "jwt" %}
from tests.e2e.services.identity import *{% endif %}
{%- if cookiecutter.database == "mariadb" %}
from tests.e2e.services.mariadb import *{% endif %}
{%- if cookiecutter.database == "postgresql" %}
from tests.e2e.services.postgresql import *{% endif %}
{%- if cookiecutter.message_broker == "rabbitmq" %}
from tests.e2e.services.rabbitmq import *{% endif %}
{%- if cookiecutter.database == "sqlite" %}
from tests.e2e.services.sqlite import *{% endif %}
{%- if cookiecutter.observability == "otel" %}
from tests.e2e.services.telemetry import *{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.e2e.services.wiremock import *{% endif %}
from tests.e2e.stack import Override, Stack, running
from tests.fixtures.docker import docker_engine, pytest_collection_modifyitems
from tests.support.fixtures import merged

OVERRIDES: list[str] = [
    # the fixtures of each dependency's part of the compose override
    "database_override",
    {%- if cookiecutter.auth == "jwt" %}
    "identity_override",{% endif %}
    {%- if cookiecutter.message_broker == "rabbitmq" %}
    "rabbitmq_override",{% endif %}
    {%- if cookiecutter.observability == "otel" %}
    "telemetry_override",{% endif %}
    {%- if cookiecutter.upstream_api == "yes" %}
    "wiremock_override",{% endif %}
]
# What every call to the orders API carries, by the fixture that gives it (a caller's
# credentials).
CALLER_HEADERS: list[str] = [
    # one fixture per dependency that authenticates callers
    {%- if cookiecutter.auth == "jwt" %}
    "e2e_identity_headers",{% endif %}
]


@pytest.fixture(scope="session")
def stack(
    docker_engine: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    parts: list[Override] = [request.getfixturevalue(name) for name in OVERRIDES]
    with running(parts, tmp_path_factory.mktemp("compose")) as started:
        yield started


@pytest.fixture(scope="session")
def service(stack: Stack, request: pytest.FixtureRequest) -> Service:
    return Service(stack.urls, merged(request, CALLER_HEADERS))


@pytest.fixture(autouse=True)
def _ready_before_each_scenario(request: pytest.FixtureRequest) -> None:
    # A scenario starts from a stack that has recovered from the one before.
    if "stack" in request.fixturenames:
        answer = request.getfixturevalue("service").wait_ready()
        assert answer.status == 200, answer


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for load in LOADS:
        terminalreporter.write_line(f"latency under load, {load.summary()}")
