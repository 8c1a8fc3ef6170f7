"""The identity provider for the contract layer: its JWKS document served in process for the
session (``FakeIdentityProvider``), and the token every request of the layer carries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from {{ cookiecutter.package_name }}.dependencies import auth
from tests.support.tokens import ISSUER, FakeIdentityProvider, SigningKey, bearer


@pytest.fixture(scope="session")
def stub_identity_provider() -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(SigningKey.new("contract-key"))
    with mock.patch.object(auth, "fetch_jwks", side_effect=provider.fetch):
        yield provider


@pytest.fixture(scope="session")
def stub_identity_settings(stub_identity_provider: FakeIdentityProvider) -> dict[str, Any]:
    return stub_identity_provider.settings


@pytest.fixture(scope="session")
def stub_identity_headers(stub_identity_provider: FakeIdentityProvider) -> dict[str, str]:
    """A token of the storefront, with both scopes, as a consumer of the API sends one."""
    [key] = stub_identity_provider.keys
    return bearer(key.token(ISSUER, subject="storefront"))


@pytest.fixture(scope="session")
def stub_identity_openapi_auth(stub_identity_headers: dict[str, str]) -> dict[str, Any]:
    """The storefront's token for the document's scheme, as schemathesis takes it."""
    return {"bearer": {"bearer": stub_identity_headers["Authorization"].removeprefix("Bearer ")}}
