"""The identity provider, for the unit layer: its JWKS document served in process
(``FakeIdentityProvider``), with a key made here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from {{ cookiecutter.package_name }}.dependencies import auth
from tests.support.tokens import ISSUER, FakeIdentityProvider, SigningKey, bearer

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["fake_auth_headers", "fake_auth_settings", "fake_identity", "signing_key"]


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    """The provider's key (made once: an RSA key takes tens of milliseconds)."""
    return SigningKey.new("key-1")


@pytest.fixture
def fake_identity(signing_key: SigningKey) -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(signing_key)
    with mock.patch.object(auth, "fetch_jwks", side_effect=provider.fetch):
        yield provider


@pytest.fixture
def fake_auth_settings(fake_identity: FakeIdentityProvider) -> dict[str, Any]:
    return fake_identity.settings


@pytest.fixture
def fake_auth_headers(signing_key: SigningKey) -> dict[str, str]:
    """What every request of the layer's test clients carries: a token with both scopes."""
    return bearer(signing_key.token(ISSUER))
