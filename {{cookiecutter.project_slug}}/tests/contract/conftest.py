"""The contract layer: pacts between this service and its neighbours, and the API against its own
OpenAPI document. In process, no Docker; a socket may connect to loopback only (pytest-socket).

Every dependency but the database is its embedded stand-in, or a stub of its own in ``stubs/``
whose settings fixture (``STUB_SETTINGS``) points the app at it. Each pact is defined in
``pacts/`` and written once per session (``pact_dir``), whichever test asks for it first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import configuration as hypothesis_configuration
from pact import _server as pact_servers
from pytest_socket import socket_allow_hosts
{% if cookiecutter.message_broker == "rabbitmq" %}
from tests.contract.pacts.notifier import *{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.contract.pacts.pricing import *{% endif %}
from tests.contract.pacts.storefront import *
{%- if cookiecutter.auth == "jwt" %}
from tests.contract.stubs.identity import *{% endif %}
{%- if cookiecutter.upstream_api == "yes" %}
from tests.contract.stubs.pricing import *{% endif %}
from tests.support.contract import LOOPBACK, REPORT, Credentials, pact_dir_from_environment
from tests.support.fixtures import merged
{%- if cookiecutter.observability == "otel" %}
from tests.support.telemetry import *{% endif %}

HYPOTHESIS_HOME = pytest.StashKey[Path]()
STUB_SETTINGS: dict[str, str] = {
    # each dependency stubbed on loopback, by the name readiness reports: the fixture that
    # points the service at its stub
    {%- if cookiecutter.auth == "jwt" %}
    "identity": "stub_identity_settings",{% endif %}
    {%- if cookiecutter.upstream_api == "yes" %}
    "pricing": "stub_pricing_settings",{% endif %}
}
# How the consumers prove who they are, by the fixture that gives it (``Credentials``): the apps'
# test clients, the pacts, the pact verifier and schemathesis use them.
CREDENTIALS: list[str] = [
    # one fixture per dependency that authenticates callers
    {%- if cookiecutter.auth == "jwt" %}
    "stub_identity_credentials",{% endif %}
]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(REPORT, []):
        terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    socket_allow_hosts([LOOPBACK], allow_unix_socket=False)


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis (under schemathesis) caches what it learns in .hypothesis/ of the working
    # directory, from collection on: a folder of the run's own instead, removed at its end.
    directory = Path(tempfile.mkdtemp(prefix="hypothesis-"))
    config.stash[HYPOTHESIS_HOME] = directory
    hypothesis_configuration.set_hypothesis_home_dir(directory)


def pytest_unconfigure(config: pytest.Config) -> None:
    hypothesis_configuration.set_hypothesis_home_dir(None)
    shutil.rmtree(config.stash[HYPOTHESIS_HOME], ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _contract_environment() -> Iterator[None]:
    # FLASK_* variables of the developer's shell must not point the contract tests at real
    # services; Pact's core reports usage over the network unless told not to. Session-wide,
    # since apps and pacts are made for a module or a session too; restored at the end.
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("FLASK_")]:
            patch.delenv(name)
        patch.setenv("PACT_DO_NOT_TRACK", "true")
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
def pact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session writes its pacts: ``PACT_DIR`` if set, else a temporary folder."""
    return pact_dir_from_environment() or tmp_path_factory.mktemp("pacts")


@pytest.fixture(scope="session")
def service_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The app's settings for the layer: every stub, besides the database."""
    return merged(request, STUB_SETTINGS.values())


@pytest.fixture(scope="session")
def credentials(request: pytest.FixtureRequest) -> Credentials:
    merged = Credentials()
    for fixture in CREDENTIALS:
        merged |= request.getfixturevalue(fixture)
    return merged


@pytest.fixture(scope="session")
def caller_headers(credentials: Credentials) -> dict[str, str]:
    return credentials.headers
