"""The contract layer: pacts between this service and its neighbours, and the API against its own
OpenAPI document. In process, no Docker; a socket may connect to loopback only (pytest-socket).

Every dependency but the database is its embedded stand-in, or a stub of its own in ``stubs/``
(taken in below, whichever exist) whose ``<dependency>_settings`` fixture points the app at it.

Consumer tests (marked ``writes_pact``) run first: the tests that verify a provider or a stub
against a pact read the file they wrote.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from pact import _server as pact_servers
from pytest_socket import socket_allow_hosts

from ..plugins import gather, settings_fixtures
from .support import LOOPBACK, REPORT

STUBS = gather("tests.contract.stubs")
globals().update(STUBS)

WRITES_PACT = "writes_pact"
# Pact's core reports usage over the network unless told not to (tox sets it too).
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: the consumers' tests first, each group in the order collected.
    items.sort(key=lambda item: item.get_closest_marker(WRITES_PACT) is None)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(REPORT, []):
        terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    socket_allow_hosts([LOOPBACK], allow_unix_socket=False)


@pytest.fixture(scope="session", autouse=True)
def _no_flask_environment() -> Iterator[None]:
    # FLASK_* variables of the developer's shell must not point the contract tests at real
    # services; session-wide, since apps are made for a module or a session too.
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("FLASK_")]:
            patch.delenv(name)
        yield


@pytest.fixture(autouse=True)
def _pact_closes_its_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    # pact-python stops its state and message servers without closing their sockets: a
    # ResourceWarning, which this project's pytest settings make an error. Close them on stop.
    stop = pact_servers.HandlerHttpServer.shutdown

    def stop_and_close(server: pact_servers.HandlerHttpServer[Any]) -> None:
        stop(server)
        server.server_close()

    monkeypatch.setattr(pact_servers.HandlerHttpServer, "shutdown", stop_and_close)


@pytest.fixture(scope="session")
def service_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The app's settings for the layer: every stub of the bake, besides the database."""
    config: dict[str, Any] = {}
    for name in settings_fixtures(STUBS):
        config.update(request.getfixturevalue(name))
    return config
