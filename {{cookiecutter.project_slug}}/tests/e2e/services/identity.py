"""The identity provider in the stack as the stack makes it: its stand-in (WireMock) publishes the
JWKS document of the stack's development key, and every caller's token is one that key signs,
minted as the README says (``docker compose run --rm -T identity-key flask --app ... auth token``).
The service refreshes the keys often here, so that an outage meets refreshes that fail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.stack import APP, Stack
from tests.support.tokens import bearer

SERVICE = "identity"
# The one-off service that holds the stack's development key, and signs with it.
KEY_SERVICE = "identity-key"
PACKAGE = "{{ cookiecutter.package_name }}"
LIFESPAN_SECONDS = 1
REFRESH_SECONDS = 1
# A one-off container starts in about a second; a loaded machine may take several.
MINT_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="session")
def identity_override() -> dict[str, Any]:
    # Only the refresh is shortened: the provider, its key and the issuer are the stack's own.
    return {
        "services": {
            APP: {
                "environment": {
                    "FLASK_AUTH_JWKS_LIFESPAN_SECONDS": str(LIFESPAN_SECONDS),
                    "FLASK_AUTH_JWKS_REFRESH_SECONDS": str(REFRESH_SECONDS),
                    "FLASK_AUTH_JWKS_TIMEOUT_SECONDS": "0.5",
                }
            },
        }
    }


def minted_token(stack: Stack, subject: str) -> str:
    """A token of the stack's development key for ``subject``, minted as the README says."""
    ran = stack.run_once(
        KEY_SERVICE,
        *("flask", "--app", PACKAGE, "auth", "token", "--subject", subject),
        timeout=MINT_TIMEOUT_SECONDS,
    )
    assert ran.code == 0, ran.output
    # The token is all it prints on stdout; its warnings and compose's progress go to stderr.
    return ran.stdout.strip()


@pytest.fixture(scope="session")
def e2e_identity_headers(stack: Stack) -> dict[str, str]:
    """A caller's token with both scopes (the command's default), valid for an hour."""
    return bearer(minted_token(stack, "e2e-client"))
