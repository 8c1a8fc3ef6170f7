"""Tokens against a virtual identity provider (WireMock): keys fetched over HTTP, a rotation
picked up, the provider slow, failing, hung or redirecting while its keys are cached, and the
refresh rate limit as the provider's request journal shows it, readiness probes included.

And what the real database decides about callers: a caller is its token's subject exactly, as
stored and compared by whichever server the service runs on, and so is an idempotency key."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures.identity import IDENTITY_SETTINGS, ISSUER, JWKS_PATH, IdentityProvider
from tests.support.api import Orders, order_body
from tests.support.apps import MakeApp, assert_degraded
from tests.support.problems import assert_problem
from tests.support.readiness import FAILING, USABLE, Outage, assert_degraded_during
from tests.support.tokens import SigningKey, bearer, jwks

FETCH_TIMEOUT = IDENTITY_SETTINGS["AUTH_JWKS_TIMEOUT_SECONDS"]
# What a request may take with the provider out: one fetch cut at its timeout, and time for a
# loaded machine (a service waiting out its production timeout, 2 s, exceeds it).
BOUND_SECONDS = FETCH_TIMEOUT + 1.0
# A provider slower than the fetch's timeout, by far.
SLOW_MILLISECONDS = int(FETCH_TIMEOUT * 4 * 1000)


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
        {"status": 200, "jsonBody": {"keys": []}, "fixedDelayMilliseconds": SLOW_MILLISECONDS},
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
    assert assert_degraded(known_keys_client, "identity") == FAILING


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


def test_before_any_key_was_fetched_a_failed_fetch_is_tried_again_after_the_retry_interval(
    make_app: MakeApp, identity_provider: IdentityProvider, identity_key: SigningKey
) -> None:
    retry = 0.5  # the requests below, quick on any machine, come well within it
    client = make_app(AUTH_JWKS_RETRY_SECONDS=retry).test_client()
    identity_provider.reset()
    identity_provider.answer({"status": 500, "body": "provider failing"})

    first = create(client, identity_key)[0]
    tried = time.monotonic()
    again = create(client, identity_key)[0]  # within the interval: refused without a fetch
    fetched = identity_provider.jwks_requests(at_least=1)
    identity_provider.reset()
    identity_provider.publish(identity_key)
    time.sleep(max(0.0, tried + retry - time.monotonic()))
    after = create(client, identity_key)[0]  # the interval is over: fetched again, and accepted

    assert (first, again, after) == (503, 503, 201)
    assert fetched == 1
    assert identity_provider.jwks_requests() == 1  # since the provider answered again


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


# Where a provider that redirects its key document sends the service: served, and never asked.
REDIRECT_TARGET = "/elsewhere/jwks.json"


@pytest.fixture(params=[False, True], ids=["empty", "carrying-keys"])
def redirecting_provider(
    request: pytest.FixtureRequest, identity_provider: IdentityProvider
) -> SigningKey:
    """The provider answers its JWKS URL with a redirect to another path, where valid keys are
    served; returns the key that signs for them. The redirect is empty, or carries their key
    document as its body: only a 200 from the JWKS URL is the provider's document."""
    elsewhere = SigningKey.new("elsewhere-key")
    redirect: dict[str, Any] = {
        "status": 302,
        "headers": {"Location": identity_provider.url + REDIRECT_TARGET},
    }
    if request.param:
        redirect["jsonBody"] = jwks(elsewhere)
    identity_provider.reset()
    identity_provider.answer(redirect)
    identity_provider.answer({"status": 200, "jsonBody": jwks(elsewhere)}, path=REDIRECT_TARGET)
    return elsewhere


def test_a_redirected_key_document_is_not_followed_before_any_key_is_known(
    make_app: MakeApp, identity_provider: IdentityProvider, redirecting_provider: SigningKey
) -> None:
    client = make_app().test_client()

    response = client.post(
        "/orders", json=order_body(), headers=bearer(redirecting_provider.token(ISSUER))
    )
    readiness = client.get("/readyz")

    assert_problem(response, 503)
    assert readiness.status_code == 503
    assert readiness.get_json()["checks"]["identity"] == FAILING
    assert identity_provider.requests_for(JWKS_PATH) >= 1
    assert identity_provider.requests_for(REDIRECT_TARGET) == 0


def test_a_redirected_key_document_is_not_followed_once_keys_are_known(
    known_keys_client: FlaskClient,
    identity_provider: IdentityProvider,
    identity_key: SigningKey,
    redirecting_provider: SigningKey,
) -> None:
    status = create(known_keys_client, redirecting_provider)[0]

    assert status == 401
    assert create(known_keys_client, identity_key)[0] == 201  # the known keys are kept
    assert identity_provider.requests_for(JWKS_PATH) >= 1
    assert identity_provider.requests_for(REDIRECT_TARGET) == 0


PROBES = 20


def test_readiness_probes_fetch_the_keys_once_per_refresh_interval(
    make_app: MakeApp, identity_provider: IdentityProvider, identity_key: SigningKey
) -> None:
    client = make_app().test_client()  # keys refreshed at most every 30 s

    answers = [client.get("/readyz") for _ in range(PROBES)]

    assert {answer.status_code for answer in answers} == {200}
    assert {answer.get_json()["checks"]["identity"] for answer in answers} <= USABLE
    assert create(client, identity_key)[0] == 201
    assert identity_provider.jwks_requests() == 1


def test_readiness_probes_over_several_refresh_intervals_fetch_once_per_interval_at_most(
    make_app: MakeApp, identity_provider: IdentityProvider
) -> None:
    interval = 0.1
    client = make_app(AUTH_JWKS_REFRESH_SECONDS=interval).test_client()

    began = time.monotonic()
    statuses: set[int] = set()
    for _ in range(PROBES):
        statuses.add(client.get("/readyz").status_code)
        time.sleep(interval / 5)
    took = time.monotonic() - began

    assert statuses == {200}
    assert 1 <= identity_provider.jwks_requests() <= int(took / interval) + 1


# Subjects a collation may take for one: they differ in case, an accent, a trailing space.
SUBJECTS = {
    "case": ("alice", "ALICE"),
    "accent": ("alice", "alicé"),
    "trailing-space": ("alice", "alice "),
}


def caller(app: Flask, key: SigningKey, subject: str) -> Orders:
    """The orders API as the caller ``subject`` calls it, with a token of its own."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key.token(ISSUER, subject)}"
    return Orders(client)


def listed(orders: Orders) -> list[int]:
    response = orders.page()
    assert response.status_code == 200, response.get_data(as_text=True)
    return [order["id"] for order in response.get_json()["items"]]


@pytest.mark.parametrize(("one", "other"), SUBJECTS.values(), ids=list(SUBJECTS))
def test_subjects_that_a_collation_could_take_for_one_are_different_callers(
    app: Flask, identity_key: SigningKey, one: str, other: str
) -> None:
    first, second = caller(app, identity_key, one), caller(app, identity_key, other)
    mine, theirs = first.created_id(), second.created_id()

    assert second.get(mine).status_code == 404
    assert first.get(theirs).status_code == 404
    assert second.cancel(mine).status_code == 404
    assert (listed(first), listed(second)) == ([mine], [theirs])
    assert first.get(mine).get_json()["status"] == "created"


def test_idempotency_keys_that_differ_only_in_case_are_different_keys(orders: Orders) -> None:
    first, second = orders.create(key="Order-7"), orders.create(key="order-7")
    replayed = orders.create(key="order-7")

    assert (first.status_code, second.status_code) == (201, 201), second.get_data(as_text=True)
    assert first.get_json()["id"] != second.get_json()["id"]
    assert replayed.status_code == 200
    assert replayed.get_json()["id"] == second.get_json()["id"]
    assert len(listed(orders)) == 2


def test_another_callers_equal_idempotency_key_makes_that_callers_own_order(
    app: Flask, identity_key: SigningKey
) -> None:
    alice, bob = caller(app, identity_key, "alice"), caller(app, identity_key, "bob")

    hers, his = alice.create(key="order-1"), bob.create(key="order-1")

    assert (hers.status_code, his.status_code) == (201, 201), his.get_data(as_text=True)
    assert hers.get_json()["id"] != his.get_json()["id"]
    assert bob.create(key="order-1").get_json()["id"] == his.get_json()["id"]
    assert alice.create(key="order-1").get_json()["id"] == hers.get_json()["id"]
    assert (listed(alice), listed(bob)) == ([hers.get_json()["id"]], [his.get_json()["id"]])
