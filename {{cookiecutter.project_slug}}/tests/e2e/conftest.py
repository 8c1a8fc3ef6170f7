"""The end-to-end layer: the service's image and every dependency of the bake, as compose.yaml
describes them, driven from outside as a black box (HTTP to the service, each dependency's own
protocol to see what reached it, a database query only to prove what was stored). Nothing here
imports the service.

The stack starts once per session (``stack.running``); each dependency's module in ``services/``
(taken in below, whichever exist) says how to reach it and shortens its timeouts. Without a Docker
engine every test skips with one reason (``REQUIRE_DOCKER=1`` makes that a failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..fixtures.docker import docker_engine, pytest_collection_modifyitems
from ..plugins import gather
from .client import LOADS, Service
from .stack import Override, Stack, running

__all__ = ["docker_engine", "pytest_collection_modifyitems"]

SERVICES = gather("tests.e2e.services")
globals().update(SERVICES)
OVERRIDE_SUFFIX = "_override"


@pytest.fixture(scope="session")
def stack(
    docker_engine: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    parts: list[Override] = [
        request.getfixturevalue(name) for name in sorted(SERVICES) if name.endswith(OVERRIDE_SUFFIX)
    ]
    with running(parts, tmp_path_factory.mktemp("compose")) as started:
        yield started


@pytest.fixture(scope="session")
def service(stack: Stack) -> Service:
    return Service(stack.url)


@pytest.fixture(autouse=True)
def _ready_before_each_scenario(request: pytest.FixtureRequest) -> None:
    # A scenario starts from a stack that has recovered from the one before.
    if "stack" in request.fixturenames:
        answer = request.getfixturevalue("service").wait_ready()
        assert answer.status == 200, answer


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for load in LOADS:
        terminalreporter.write_line(f"latency under load, {load.summary()}")
