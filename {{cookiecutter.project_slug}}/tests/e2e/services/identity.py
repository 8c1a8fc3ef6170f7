"""The identity provider in the stack (WireMock): it publishes the JWKS document of a key made
for the session (a mapping file mounted in its place), and the service refreshes the keys often,
so that an outage meets refreshes that fail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.stack import APP
from tests.support.tokens import SigningKey, bearer, jwks

SERVICE = "identity"
ISSUER = "http://identity.e2e.test/"
LIFESPAN_SECONDS = 1
REFRESH_SECONDS = 1


@pytest.fixture(scope="session")
def e2e_identity_key() -> SigningKey:
    return SigningKey.new("e2e-key")


@pytest.fixture(scope="session")
def identity_override(
    e2e_identity_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    mappings = tmp_path_factory.mktemp("identity-mappings")
    stub = {
        "request": {"method": "GET", "url": "/.well-known/jwks.json"},
        "response": {"status": 200, "jsonBody": jwks(e2e_identity_key)},
    }
    (mappings / "jwks.json").write_text(json.dumps(stub), encoding="utf-8")
    mappings.chmod(0o755)
    return {
        "services": {
            SERVICE: {"volumes": [f"{mappings}:/home/wiremock/mappings:ro"]},
            APP: {
                "environment": {
                    "FLASK_AUTH_ISSUER": ISSUER,
                    "FLASK_AUTH_JWKS_LIFESPAN_SECONDS": str(LIFESPAN_SECONDS),
                    "FLASK_AUTH_JWKS_REFRESH_SECONDS": str(REFRESH_SECONDS),
                    "FLASK_AUTH_JWKS_TIMEOUT_SECONDS": "0.5",
                }
            },
        }
    }


@pytest.fixture(scope="session")
def e2e_identity_headers(e2e_identity_key: SigningKey) -> dict[str, str]:
    """A caller's token with both scopes, valid for the session."""
    return bearer(e2e_identity_key.token(ISSUER, subject="e2e-client"))
