"""The identity provider, for the unit layer: its JWKS document served in process, in place of
the service's fetch (``fetch_jwks``), with keys made here; it counts what it was asked and can be
made to fail as an unreachable provider would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import requests

from {{ cookiecutter.package_name }}.dependencies import auth
from tests.support.tokens import SigningKey, bearer, jwks

JWKS_URL = "http://identity.test/.well-known/jwks.json"
ISSUER = "http://identity.test/"


class FakeIdentityProvider:
    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.reachable = True
        self.fetches = 0

    def fetch(self, _http: requests.Session, url: str, timeout: float) -> dict[str, Any]:
        assert url == JWKS_URL
        assert timeout > 0
        self.fetches += 1
        if not self.reachable:
            raise requests.ConnectionError("identity.test: connection refused")
        return jwks(*self.keys)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    """The provider's key (made once: an RSA key takes tens of milliseconds)."""
    return SigningKey.new("key-1")


@pytest.fixture
def identity_provider(signing_key: SigningKey) -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(signing_key)
    with mock.patch.object(auth, "fetch_jwks", side_effect=provider.fetch):
        yield provider


@pytest.fixture
def fake_auth_settings(identity_provider: FakeIdentityProvider) -> dict[str, Any]:
    return {"AUTH_JWKS_URL": JWKS_URL, "AUTH_ISSUER": ISSUER}


@pytest.fixture
def fake_auth_headers(signing_key: SigningKey) -> dict[str, str]:
    """What every request of the layer's test clients carries: a token with both scopes."""
    return bearer(signing_key.token(ISSUER))
