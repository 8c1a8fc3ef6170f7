"""The identity provider, for the unit layer: its JWKS document served in process
(``FakeIdentityProvider``), with a key made here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.dependencies import auth
from tests.support.tokens import ISSUER, JWKS_URL, FakeIdentityProvider, SigningKey, bearer

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = [
    "fake_auth_headers",
    "fake_auth_reset",
    "fake_auth_settings",
    "fake_identity",
    "fake_jwks_fetch",
    "signing_key",
]


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    """The provider's key (made once: an RSA key takes tens of milliseconds)."""
    return SigningKey.new("key-1")


@pytest.fixture(scope="package")
def fake_jwks_fetch() -> Iterator[mock.Mock]:
    """The service's fetch of the provider's keys, answered by the test's ``fake_identity``."""
    with mock.patch.object(auth, "fetch_jwks") as fetch:
        yield fetch


@pytest.fixture
def fake_identity(signing_key: SigningKey, fake_jwks_fetch: mock.Mock) -> FakeIdentityProvider:
    """The provider, the test's own: reachable, publishing ``signing_key``, asked nothing yet."""
    provider = FakeIdentityProvider(signing_key)
    fake_jwks_fetch.side_effect = provider.fetch
    return provider


@pytest.fixture(scope="package")
def fake_auth_settings(fake_jwks_fetch: mock.Mock) -> dict[str, Any]:
    return {"AUTH_JWKS_URL": JWKS_URL, "AUTH_ISSUER": ISSUER}


@pytest.fixture(scope="package")
def fake_auth_headers(signing_key: SigningKey) -> dict[str, str]:
    """What every request of the layer's test clients carries: a token with both scopes."""
    return bearer(signing_key.token(ISSUER))


@pytest.fixture
def fake_auth_reset(fake_identity: FakeIdentityProvider, shared_app: Flask) -> None:
    """Every test finds a provider of its own and the shared app with no keys fetched."""
    auth.KEYS.of(shared_app).forget()
