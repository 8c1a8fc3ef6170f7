"""The identity provider for the contract layer: its JWKS document served in process for the
session (``FakeIdentityProvider``), and the token every request of the layer carries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from pact import match

from {{ cookiecutter.package_name }}.dependencies import auth
from tests.support.contract import Credentials
from tests.support.tokens import ISSUER, FakeIdentityProvider, SigningKey, bearer

# What a consumer sends, whatever token it holds: three base64url parts.
BEARER_JWT = r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


@pytest.fixture(scope="session")
def stub_identity_provider() -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(SigningKey.new("contract-key"))
    with mock.patch.object(auth, "fetch_jwks", side_effect=provider.fetch):
        yield provider


@pytest.fixture(scope="session")
def stub_identity_settings(stub_identity_provider: FakeIdentityProvider) -> dict[str, Any]:
    return stub_identity_provider.settings


@pytest.fixture(scope="session")
def stub_identity_credentials(stub_identity_provider: FakeIdentityProvider) -> Credentials:
    """The storefront's token, with both scopes, as a consumer of the API sends one; its pacts
    match any bearer token."""
    [key] = stub_identity_provider.keys
    token = key.token(ISSUER, subject="storefront")
    return Credentials(
        headers=bearer(token),
        pact_headers={"Authorization": match.regex(f"Bearer {token}", regex=BEARER_JWT)},
        openapi_auth={"bearer": {"bearer": token}},
    )
