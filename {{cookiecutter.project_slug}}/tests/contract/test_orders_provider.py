"""The orders API honours its consumers' pacts: Pact's verifier replays each interaction against the
service served on loopback, after the provider state it names was set up.

Each interaction gets a service of its own (a new app on a new SQLite file), so that no interaction
sees what another left; its state is seeded through the service's models. A state that cannot be
seeded fails the test with its error (``CallbackErrors``), not with the verifier's retries.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pact import Verifier

from {{ cookiecutter.package_name }} import wiring
from tests.support.contract import (
    LOOPBACK,
    REQUEST_TIMEOUT_MS,
    SERVICE,
    CallbackErrors,
    contract_app,
    serving,
    verify,
)
from tests.support.orders import store_orders


class ServiceUnderTest:
    """A WSGI app that is a fresh service after every reset (the server keeps its port)."""

    def __init__(
        self, directory: Path, config: dict[str, Any], caller_headers: dict[str, str]
    ) -> None:
        self.directory = directory
        self.config = config
        self.caller_headers = caller_headers
        self.runs = itertools.count()
        self.app = self._new_app()

    def _new_app(self) -> Flask:
        directory = self.directory / f"state-{next(self.runs)}"
        directory.mkdir()
        return contract_app(directory, self.config, self.caller_headers)

    def reset(self) -> None:
        old, self.app = self.app, self._new_app()
        wiring.close(old)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


def set_up(service: ServiceUnderTest, state: str, parameters: dict[str, Any]) -> None:
    """Puts the service in the state an interaction names (unknown states fail the interaction)."""
    service.reset()
    if state == "an order exists":
        store_orders(service.app.test_client(), 1, id=int(parameters["id"]))
    elif state == "orders exist":
        store_orders(service.app.test_client(), int(parameters["count"]))
    elif state not in ("SKU-1 can be ordered", "no order exists"):
        raise ValueError(f"no provider state {state!r}")


@pytest.fixture
def service(
    tmp_path: Path, service_config: dict[str, Any], caller_headers: dict[str, str]
) -> Iterator[ServiceUnderTest]:
    service = ServiceUnderTest(tmp_path, service_config, caller_headers)
    yield service
    wiring.close(service.app)


def test_the_orders_api_honours_the_storefronts_pact(
    storefront_pact_file: Path, service: ServiceUnderTest, caller_headers: dict[str, str]
) -> None:
    pact = storefront_pact_file
    errors = CallbackErrors()

    def set_up_state(state: str, parameters: dict[str, Any]) -> None:
        set_up(service, state, parameters)

    with serving(service) as url:
        verifier = (
            Verifier(SERVICE, host=LOOPBACK)
            .add_transport(url=url)
            .state_handler(errors.state_handler(set_up_state), teardown=True)
            .set_request_timeout(REQUEST_TIMEOUT_MS)
            .add_source(pact)
            # The storefront's credentials, as it sends them: the pact leaves them out.
            .add_custom_headers(caller_headers)
        )
        verify(verifier, errors)
