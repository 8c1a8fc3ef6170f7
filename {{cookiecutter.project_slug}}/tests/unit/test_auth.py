"""Only callers who may: every refused token answers 401 (or 403 for a missing scope) as a
problem with its challenge, a caller sees only its own orders, and the provider's keys are
fetched, rotated and kept through an outage as the auth module promises. Keys are made in
process; the provider is a fake (``fakes/auth.py``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.access import READ, WRITE
from {{ cookiecutter.package_name }}.config import MissingSetting
from {{ cookiecutter.package_name }}.dependencies.auth import (
    MAX_JWKS_BYTES,
    REALM,
    KeySet,
    fetch_jwks,
)
from {{ cookiecutter.package_name }}.openapi import document
from tests.support.api import Orders, order_body
from tests.support.apps import (
    MakeApp,
    assert_degraded,
    count_rows,
    each_of_two_turns,
    each_unset_value,
)
from tests.support.problems import assert_problem
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    FakeIdentityProvider,
    SigningKey,
    bearer,
    jwks,
)

OPEN_PATHS = ["/healthz", "/readyz", "/openapi.json"]


def segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def signed_with_hmac(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token an attacker makes by hand: PyJWT refuses to sign HMAC with a PEM key."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def assert_refused(response: Any, status: int = 401) -> dict[str, Any]:
    """A 401 problem with an ``invalid_token`` challenge (or the given status's problem)."""
    problem = assert_problem(response, status)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith(f'Bearer realm="{REALM}"'), challenge
    if status == 401:
        assert 'error="invalid_token"' in challenge, challenge
    return problem


def create_with(client: FlaskClient, token: str) -> Any:
    return client.post("/orders", json=order_body(), headers=bearer(token))


def test_a_request_without_a_token_is_asked_for_one(app: Flask, client: FlaskClient) -> None:
    response = client.post("/orders", json=order_body(), headers={"Authorization": ""})

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{REALM}"'
    assert count_rows(app, "orders") == 0


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer    ", "bearer-token abc"]
)
def test_a_request_without_a_bearer_token_is_refused(
    client: FlaskClient, authorization: str
) -> None:
    response = client.get("/orders", headers={"Authorization": authorization})

    assert_problem(response, 401)


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired", {"exp": int(time.time()) - 120}),
        ("not yet valid", {"nbf": int(time.time()) + 120}),
        ("wrong issuer", {"iss": "http://elsewhere.test/"}),
        ("wrong audience", {"aud": "another-service"}),
        ("no subject", {"sub": None}),
        ("no expiry", {"exp": None}),
        ("a subject too long to keep", {"sub": "x" * 256}),
        ("a subject with a NUL", {"sub": "ali\u0000ce"}),
        ("a subject with a lone surrogate", {"sub": "ali\ud800ce"}),
        ("a subject with a tab", {"sub": "alice\t"}),
    ],
)
def test_a_token_with_claims_the_service_does_not_accept_is_refused(
    app: Flask, client: FlaskClient, signing_key: SigningKey, case: str, claims: dict[str, Any]
) -> None:
    response = create_with(client, signing_key.token(ISSUER, **claims))

    assert_refused(response)
    assert count_rows(app, "orders") == 0


def test_a_token_a_little_past_its_expiry_is_accepted_within_the_leeway(
    client: FlaskClient, signing_key: SigningKey
) -> None:
    token = signing_key.token(ISSUER, exp=int(time.time()) - 5)

    assert create_with(client, token).status_code == 201


def test_an_unsigned_token_is_refused(client: FlaskClient, signing_key: SigningKey) -> None:
    claims = claims_of(signing_key.token(ISSUER))
    unsigned = f"{segment({'alg': 'none', 'kid': signing_key.kid})}.{segment(claims)}."

    assert_refused(create_with(client, unsigned))


def test_a_token_signed_with_hmac_over_the_public_key_is_refused(
    client: FlaskClient, signing_key: SigningKey
) -> None:
    claims = claims_of(signing_key.token(ISSUER))
    header = {"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}

    assert_refused(create_with(client, signed_with_hmac(signing_key.public_pem, header, claims)))


def test_a_token_whose_payload_was_changed_is_refused(
    client: FlaskClient, signing_key: SigningKey
) -> None:
    header, _payload, signature = signing_key.token(ISSUER, subject="alice").split(".")
    forged = {**claims_of(signing_key.token(ISSUER)), "sub": "mallory", "scope": f"{READ} {WRITE}"}

    assert_refused(create_with(client, f"{header}.{segment(forged)}.{signature}"))


def test_a_token_of_a_key_the_provider_does_not_publish_is_refused(
    client: FlaskClient, fake_identity: FakeIdentityProvider
) -> None:
    stranger = SigningKey.new("key-of-a-stranger")

    assert_refused(create_with(client, stranger.token(ISSUER)))
    assert fake_identity.fetches >= 1


def test_keys_named_in_the_token_itself_are_never_used(client: FlaskClient) -> None:
    attacker = SigningKey.new("key-1")  # the provider's kid, the attacker's key
    headers = {
        "jwk": attacker.jwk,
        "jku": "http://attacker.test/jwks.json",
        "x5u": "http://attacker.test/cert.pem",
    }

    assert_refused(create_with(client, attacker.token(ISSUER, headers=headers)))


def test_a_token_whose_algorithm_is_not_its_keys_is_refused(
    client: FlaskClient, signing_key: SigningKey
) -> None:
    _header, payload, signature = signing_key.token(ISSUER).split(".")
    relabelled = segment({"alg": "ES256", "typ": "JWT", "kid": signing_key.kid})

    assert_refused(create_with(client, f"{relabelled}.{payload}.{signature}"))


def test_an_oversized_token_is_refused_unread(
    client: FlaskClient, signing_key: SigningKey, fake_identity: FakeIdentityProvider
) -> None:
    token = signing_key.token(ISSUER, padding="x" * 9000)

    assert_refused(create_with(client, token))
    assert fake_identity.fetches == 0


@pytest.mark.parametrize(
    ("scopes", "method", "path"),
    [
        ((READ,), "POST", "/orders"),
        ((READ,), "POST", "/orders/1/cancel"),
        ((WRITE,), "GET", "/orders"),
        ((WRITE,), "GET", "/orders/1"),
        ((), "GET", "/orders"),
    ],
)
def test_a_token_without_the_operations_scope_is_forbidden(
    app: Flask,
    client: FlaskClient,
    signing_key: SigningKey,
    scopes: tuple[str, ...],
    method: str,
    path: str,
) -> None:
    token = signing_key.token(ISSUER, scopes=scopes)

    response = client.open(path, method=method, json=order_body(), headers=bearer(token))

    assert_problem(response, 403)
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert (READ if method == "GET" else WRITE) in challenge
    assert count_rows(app, "orders") == 0


def test_scopes_given_as_a_list_are_granted(client: FlaskClient, signing_key: SigningKey) -> None:
    token = signing_key.token(ISSUER, scopes=(), scope=None, scp=[READ])

    assert client.get("/orders", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("path", ["/orders/undeclared", "/undeclared"])
def test_a_view_that_says_nothing_of_its_callers_is_refused_to_every_caller(
    make_app: MakeApp, signing_key: SigningKey, path: str
) -> None:
    app = make_app()
    app.add_url_rule(path, "undeclared", lambda: "an answer nobody may have")
    client = app.test_client()

    assert client.get(path, headers={"Authorization": ""}).status_code == 401
    assert client.get(path, headers=bearer(signing_key.token(ISSUER))).status_code == 403


@pytest.mark.parametrize("path", OPEN_PATHS)
def test_health_readiness_and_the_document_stay_open(client: FlaskClient, path: str) -> None:
    assert client.get(path, headers={"Authorization": ""}).status_code == 200


def test_another_callers_order_is_not_found(
    client: FlaskClient, orders: Orders, signing_key: SigningKey
) -> None:
    order_id = orders.created_id()
    assert orders.get(order_id).status_code == 200  # read by its owner: kept by a cache, if any
    bob = bearer(signing_key.token(ISSUER, subject="bob"))

    assert_problem(client.get(f"/orders/{order_id}", headers=bob), 404)
    assert_problem(client.post(f"/orders/{order_id}/cancel", headers=bob), 404)
    assert client.get("/orders", headers=bob).get_json()["items"] == []
    assert orders.get(order_id).get_json()["status"] == "created"


def test_an_unknown_order_and_another_callers_answer_alike(
    client: FlaskClient, orders: Orders, signing_key: SigningKey
) -> None:
    order_id = orders.created_id()
    bob = bearer(signing_key.token(ISSUER, subject="bob"))

    theirs = client.get(f"/orders/{order_id}", headers=bob).get_json()
    unknown = client.get(f"/orders/{order_id + 1}", headers=bob).get_json()

    assert theirs == {**unknown, "detail": f"No order {order_id}."}


def test_each_caller_lists_its_own_orders(
    client: FlaskClient, orders: Orders, signing_key: SigningKey
) -> None:
    alices = [orders.created_id(), orders.created_id()]
    bob = bearer(signing_key.token(ISSUER, subject="bob"))
    bobs = [client.post("/orders", json=order_body(), headers=bob).get_json()["id"]]

    assert [order["id"] for order in orders.page().get_json()["items"]] == alices
    listed = client.get("/orders", headers=bob).get_json()["items"]
    assert [order["id"] for order in listed] == bobs


def test_an_idempotency_key_is_its_callers_own(
    app: Flask, client: FlaskClient, orders: Orders, signing_key: SigningKey
) -> None:
    alices = orders.create(key="shared-key").get_json()
    bob = {**bearer(signing_key.token(ISSUER, subject="bob")), "Idempotency-Key": "shared-key"}

    first = client.post("/orders", json=order_body(), headers=bob)
    again = client.post("/orders", json=order_body(), headers=bob)

    # Bob's key is his own: a new order, not Alice's, not a conflict that tells him it is taken.
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["id"] != alices["id"]
    assert (again.status_code, again.get_json()["id"]) == (200, first.get_json()["id"])
    assert orders.create(key="shared-key").get_json()["id"] == alices["id"]
    assert count_rows(app, "orders") == 2


def test_a_rotated_key_is_fetched_once_and_accepted(
    make_app: MakeApp, fake_identity: FakeIdentityProvider, signing_key: SigningKey
) -> None:
    client = make_app(AUTH_JWKS_REFRESH_SECONDS=0).test_client()
    assert create_with(client, signing_key.token(ISSUER)).status_code == 201
    rotated = SigningKey.new("key-2")
    fake_identity.keys = [rotated]

    first = create_with(client, rotated.token(ISSUER))
    second = create_with(client, rotated.token(ISSUER))

    assert (first.status_code, second.status_code) == (201, 201)
    assert fake_identity.fetches == 2


def test_forged_kids_reach_the_provider_at_most_once_per_refresh_interval(
    client: FlaskClient, fake_identity: FakeIdentityProvider, signing_key: SigningKey
) -> None:
    for number in range(20):
        forged = signing_key.token(ISSUER, headers={"kid": f"forged-{number}"})
        assert_refused(create_with(client, forged))

    assert fake_identity.fetches == 1


def test_tokens_of_known_keys_work_while_the_provider_is_down(
    make_app: MakeApp,
    fake_identity: FakeIdentityProvider,
    signing_key: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_app(AUTH_JWKS_LIFESPAN_SECONDS=0, AUTH_JWKS_REFRESH_SECONDS=0).test_client()
    assert create_with(client, signing_key.token(ISSUER)).status_code == 201
    fake_identity.reachable = False

    response = create_with(client, signing_key.token(ISSUER))

    assert response.status_code == 201
    assert fake_identity.fetches == 2  # the expired set was refetched, and kept on failure
    assert_degraded(client, "identity")
    assert "connection refused" in caplog.text


def test_before_any_key_was_fetched_a_provider_outage_is_a_503_not_a_500(
    client: FlaskClient, fake_identity: FakeIdentityProvider, signing_key: SigningKey
) -> None:
    fake_identity.reachable = False

    response = create_with(client, signing_key.token(ISSUER))
    readiness = client.get("/readyz")

    assert_problem(response, 503)
    assert readiness.status_code == 503
    assert "identity" in readiness.get_json()["detail"]


class Dribbling(io.RawIOBase):
    """A body that comes a byte at a time, each after a pause: a provider that never stops."""

    def readinto(self, buffer: Any) -> int:
        time.sleep(0.05)
        buffer[0:1] = b" "
        return 1


def answer(status: int, body: bytes | io.RawIOBase) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.raw = io.BytesIO(body) if isinstance(body, bytes) else body
    return response


class Answering(requests.Session):
    """A session that answers every request with one response, and records what it was asked."""

    def __init__(self, answer: requests.Response) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:
        self.asked.append((str(url), kwargs))
        return self.answer


@pytest.mark.parametrize("body", [b"", None], ids=["empty", "keys in its body"])
def test_the_keys_come_from_the_jwks_url_itself_never_through_a_redirect(
    signing_key: SigningKey, body: bytes | None
) -> None:
    redirect = answer(302, json.dumps(jwks(signing_key)).encode() if body is None else body)
    redirect.headers["Location"] = "http://elsewhere.test/jwks.json"
    http = Answering(redirect)

    with pytest.raises(requests.HTTPError, match="answered 302"):
        fetch_jwks(http, JWKS_URL, timeout=1.0)

    # Asked once, where the settings say, and told not to follow: elsewhere is never asked.
    assert [(url, kwargs["allow_redirects"]) for url, kwargs in http.asked] == [(JWKS_URL, False)]


def test_a_key_document_that_never_ends_is_given_up_within_its_timeout() -> None:
    began = time.monotonic()

    with pytest.raises(requests.Timeout, match=r"took longer than 0\.3 s"):
        fetch_jwks(Answering(answer(200, Dribbling())), JWKS_URL, timeout=0.3)

    assert time.monotonic() - began < 3


def test_a_key_document_larger_than_any_key_set_is_refused() -> None:
    huge = answer(200, b"[" + b" " * MAX_JWKS_BYTES + b"]")

    with pytest.raises(ValueError, match="larger than"):
        fetch_jwks(Answering(huge), JWKS_URL, timeout=5)


def test_a_caller_with_a_known_key_never_waits_for_a_refresh(signing_key: SigningKey) -> None:
    now = [0.0]
    fetched_once, refreshing, release = threading.Event(), threading.Event(), threading.Event()

    def fetch() -> dict[str, Any]:
        if fetched_once.is_set():  # the provider hangs on every refresh after the first
            refreshing.set()
            release.wait(10)
        fetched_once.set()
        return jwks(signing_key)

    keys = KeySet(fetch, lifespan_seconds=300, refresh_seconds=30, clock=lambda: now[0])
    keys.warm()
    now[0] = 400.0  # expired: the next caller refreshes
    with ThreadPoolExecutor(max_workers=1) as other_caller:
        refresh = other_caller.submit(keys.key, signing_key.kid)
        try:
            assert refreshing.wait(5)
            began = time.monotonic()
            found = keys.key(signing_key.kid)  # arrives while that refresh hangs
            waited = time.monotonic() - began
            assert not refresh.done()
        finally:
            release.set()

    assert found.key_id == signing_key.kid
    assert waited < 1


def test_readiness_probes_fetch_keys_no_more_often_than_requests_may(
    make_app: MakeApp, fake_identity: FakeIdentityProvider
) -> None:
    # Keys that expire at once, refetched at most once per 30 s (the default).
    client = make_app(AUTH_JWKS_LIFESPAN_SECONDS=0).test_client()

    answers = [client.get("/readyz") for _ in range(20)]

    assert [answer.status_code for answer in answers] == [200] * 20
    assert {answer.get_json()["checks"]["identity"] for answer in answers} == {"ok"}
    assert fake_identity.fetches == 1


def test_callers_arriving_together_make_one_fetch(signing_key: SigningKey) -> None:
    fetches: list[float] = []

    def slow_fetch() -> dict[str, Any]:
        fetches.append(time.monotonic())
        time.sleep(0.05)
        return jwks(signing_key)

    keys = KeySet(slow_fetch, lifespan_seconds=300, refresh_seconds=30)
    with ThreadPoolExecutor(max_workers=10) as callers:
        found = list(callers.map(lambda _: keys.key(signing_key.kid).key_id, range(10)))

    assert found == [signing_key.kid] * 10
    assert len(fetches) == 1


def test_the_key_set_refreshes_an_unknown_kid_once_per_interval() -> None:
    now = [0.0]
    fetched: list[float] = []
    first, second = SigningKey.new("first"), SigningKey.new("second")
    published = [first]

    def fetch() -> dict[str, Any]:
        fetched.append(now[0])
        return jwks(*published)

    keys = KeySet(fetch, lifespan_seconds=300, refresh_seconds=30, clock=lambda: now[0])
    assert keys.key("first").key_id == "first"
    published.append(second)

    now[0] = 10.0
    with pytest.raises(Exception, match="not one of"):
        keys.key("second")
    now[0] = 40.0
    found = keys.key("second")

    assert found.key_id == "second"
    assert fetched == [0.0, 40.0]


def test_the_key_set_keeps_its_keys_when_a_refresh_fails() -> None:
    now = [0.0]
    key = SigningKey.new("kept")
    answers: list[Any] = [jwks(key), requests.ConnectionError("down")]

    def fetch() -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        document: dict[str, Any] = answer
        return document

    keys = KeySet(fetch, lifespan_seconds=60, refresh_seconds=30, clock=lambda: now[0])
    keys.key("kept")
    now[0] = 61.0

    assert keys.key("kept").key_id == "kept"
    assert keys.known


def test_the_document_declares_the_scheme_and_each_operations_scope(app: Flask) -> None:
    with app.app_context():
        spec = document()

    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            if path in OPEN_PATHS:
                assert "security" not in operation, path
                continue
            [requirement] = operation["security"]
            assert requirement["bearer"] in ([READ], [WRITE])
            assert {"401", "403"} <= set(operation["responses"]), path


def test_the_token_command_prints_a_token_of_the_development_key(make_app: MakeApp) -> None:
    app = make_app(AUTH_JWKS_URL=None, AUTH_ISSUER=None)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["auth", "token", "--subject", "carol", "--scope", READ])
    token = result.output.strip()
    client = app.test_client()

    assert result.exit_code == 0, result.output
    assert claims_of(token)["sub"] == "carol"
    assert client.get("/orders", headers=bearer(token)).status_code == 200
    assert_problem(create_with(client, token), 403)


@pytest.mark.parametrize("setting", ["AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"])
@each_unset_value
def test_the_production_configuration_refuses_to_start_without_the_providers_settings(
    service_config: dict[str, Any], setting: str, unset: str | None, tmp_path: Path
) -> None:
    settings = {**service_config, setting: unset}

    with pytest.raises(MissingSetting, match=rf"^FLASK_{setting} is not set: "):
        create_app(settings, embedded_defaults=False, instance_path=str(tmp_path))


@each_unset_value
def test_the_development_configuration_refuses_an_empty_audience_too(
    make_app: MakeApp, unset: str | None
) -> None:
    # Else a token whose audience is empty, or absent, would be taken.
    with pytest.raises(MissingSetting, match=r"^FLASK_AUTH_AUDIENCE is not set: "):
        make_app(AUTH_AUDIENCE=unset)


def test_the_development_key_is_reported_embedded(make_app: MakeApp) -> None:
    ready = make_app(AUTH_JWKS_URL=None).test_client().get("/readyz")

    assert (ready.status_code, ready.get_json()["checks"]["identity"]) == (200, "embedded")


def test_the_events_of_an_order_name_its_owner(orders: Orders) -> None:
    order = orders.created()

    assert orders.announced(order) == {**order, "owner": "alice"}


def test_the_jwks_command_publishes_the_development_keys_public_half(make_app: MakeApp) -> None:
    app = make_app(AUTH_JWKS_URL=None, AUTH_ISSUER=None)
    runner = app.test_cli_runner()

    printed = runner.invoke(args=["auth", "jwks"])
    token = runner.invoke(args=["auth", "token", "--subject", "dave"]).output.strip()

    assert printed.exit_code == 0, printed.output
    [key] = jwt.PyJWKSet.from_dict(json.loads(printed.output)).keys
    assert "d" not in json.loads(printed.output)["keys"][0]  # no private part
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE)
    assert claims["sub"] == "dave"


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["RS256", "HS512"], []])
def test_the_service_refuses_to_start_with_an_algorithm_a_public_key_cannot_check(
    service_config: dict[str, Any], algorithms: list[str]
) -> None:
    with pytest.raises(ValueError, match="AUTH_ALGORITHMS"):
        create_app({**service_config, "AUTH_ALGORITHMS": algorithms})


@each_of_two_turns
def test_each_test_finds_the_providers_keys_not_yet_fetched(
    orders: Orders, fake_identity: FakeIdentityProvider, turn: str
) -> None:
    assert orders.create(turn).status_code == 201

    assert fake_identity.fetches == 1
