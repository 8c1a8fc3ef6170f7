"""Tokens against a virtual identity provider (WireMock): keys fetched over HTTP, a rotation
picked up, the provider slow, failing or hung while its keys are cached, and the refresh rate
limit as the provider's request journal shows it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.fixtures.identity import ISSUER, IdentityProvider
from tests.support.api import order_body
from tests.support.apps import MakeApp, assert_degraded
from tests.support.problems import assert_problem
from tests.support.readiness import Outage, assert_degraded_during
from tests.support.tokens import SigningKey, bearer

# Readiness is asked once per scenario with the provider out: within its own timeout, plus time.
BOUND_SECONDS = 1.5


def create(client: FlaskClient, key: SigningKey, subject: str = "alice") -> tuple[int, float]:
    began = time.perf_counter()
    response = client.post("/orders", json=order_body(), headers=bearer(key.token(ISSUER, subject)))
    return response.status_code, time.perf_counter() - began


@pytest.fixture
def known_keys_client(make_app: MakeApp, identity_key: SigningKey) -> FlaskClient:
    """A client of an app that fetched the provider's keys once, and whose keys have expired:
    every request may refresh them (once per refresh interval)."""
    client = make_app(AUTH_JWKS_LIFESPAN_SECONDS=0, AUTH_JWKS_REFRESH_SECONDS=0).test_client()
    assert create(client, identity_key)[0] == 201
    return client


def test_a_rotated_key_is_fetched_from_the_provider_and_accepted(
    make_app: MakeApp, identity_provider: IdentityProvider, identity_key: SigningKey
) -> None:
    client = make_app(AUTH_JWKS_REFRESH_SECONDS=0).test_client()
    assert create(client, identity_key)[0] == 201
    rotated = SigningKey.new("rotated-key")
    identity_provider.reset()
    identity_provider.publish(identity_key, rotated)

    statuses = [create(client, rotated)[0], create(client, rotated)[0]]

    assert statuses == [201, 201]
    assert identity_provider.jwks_requests() == 1  # the refresh the new kid asked for


@pytest.mark.parametrize(
    "response",
    [
        {"status": 500, "body": "provider failing"},
        {"status": 200, "body": "<html>not a key set</html>"},
        {"fault": "CONNECTION_RESET_BY_PEER"},
        {"status": 200, "jsonBody": {"keys": []}, "fixedDelayMilliseconds": 3000},
    ],
    ids=["failing", "garbage", "reset", "slow"],
)
def test_known_keys_keep_working_while_the_provider_misbehaves(
    known_keys_client: FlaskClient,
    identity_provider: IdentityProvider,
    identity_key: SigningKey,
    response: dict[str, Any],
) -> None:
    identity_provider.reset()
    identity_provider.answer(response)

    status, seconds = create(known_keys_client, identity_key)

    assert status == 201
    assert seconds < BOUND_SECONDS
    assert identity_provider.jwks_requests(at_least=1) == 1
    assert assert_degraded(known_keys_client, "identity")


def test_known_keys_keep_working_while_the_provider_hangs(
    known_keys_client: FlaskClient, identity_key: SigningKey, identity_outage: Outage
) -> None:
    with identity_outage():
        status, seconds = create(known_keys_client, identity_key)

    assert status == 201
    assert seconds < BOUND_SECONDS


def test_readiness_reports_a_hung_provider_degraded_once_keys_are_known(
    known_keys_client: FlaskClient, identity_outage: Outage
) -> None:
    assert_degraded_during(identity_outage, lambda **_: known_keys_client.application, "identity")


def test_before_any_key_was_fetched_a_hung_provider_is_a_503_within_the_timeout(
    make_app: MakeApp, identity_key: SigningKey, identity_outage: Outage
) -> None:
    client = make_app().test_client()

    with identity_outage():
        began = time.perf_counter()
        response = client.post(
            "/orders", json=order_body(), headers=bearer(identity_key.token(ISSUER))
        )
        seconds = time.perf_counter() - began
        readiness = client.get("/readyz")

    assert_problem(response, 503)
    assert seconds < BOUND_SECONDS
    assert readiness.status_code == 503
    assert "identity" in readiness.get_json()["detail"]


def test_forged_kids_reach_the_provider_once_per_refresh_interval(
    make_app: MakeApp, identity_provider: IdentityProvider, identity_key: SigningKey
) -> None:
    client = make_app().test_client()
    assert create(client, identity_key)[0] == 201

    forged = [identity_key.token(ISSUER, headers={"kid": f"forged-{n}"}) for n in range(10)]
    statuses = {
        client.post("/orders", json=order_body(), headers=bearer(token)).status_code
        for token in forged
    }

    assert statuses == {401}
    assert identity_provider.jwks_requests() == 1  # the first fetch; no forged kid refetched
