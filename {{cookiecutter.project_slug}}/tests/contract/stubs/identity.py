"""The identity provider stubbed on loopback for the session: it publishes the JWKS document of a
key made here, which the service's own fetch reads, and the storefront's token is signed with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from pact import match

from tests.support.contract import Credentials, serving
from tests.support.tokens import ISSUER, SigningKey, bearer, jwks

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["stub_identity_credentials", "stub_identity_key", "stub_identity_settings"]

JWKS_PATH = "/.well-known/jwks.json"
# What a consumer sends, whatever token it holds: three base64url parts.
BEARER_JWT = r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


@pytest.fixture(scope="session")
def stub_identity_key() -> SigningKey:
    return SigningKey.new("contract-key")


@pytest.fixture(scope="session")
def stub_identity_settings(stub_identity_key: SigningKey) -> Iterator[dict[str, Any]]:
    document = json.dumps(jwks(stub_identity_key)).encode()

    def identity_stub(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] != JWKS_PATH:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(document)))]
        start_response("200 OK", headers)
        return [document]

    with serving(identity_stub) as url:
        yield {"AUTH_JWKS_URL": url + JWKS_PATH, "AUTH_ISSUER": ISSUER}


@pytest.fixture(scope="session")
def stub_identity_credentials(stub_identity_key: SigningKey) -> Credentials:
    """The storefront's token, with both scopes, as a consumer of the API sends one; its pacts
    match any bearer token."""
    token = stub_identity_key.token(ISSUER, subject="storefront")
    return Credentials(
        headers=bearer(token),
        pact_headers={"Authorization": match.regex(f"Bearer {token}", regex=BEARER_JWT)},
        openapi_auth={"bearer": {"bearer": token}},
    )
