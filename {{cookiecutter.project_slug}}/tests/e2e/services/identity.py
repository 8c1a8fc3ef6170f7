"""The identity provider of the stack (WireMock publishing the JWKS of the stack's development key):
every caller's token is one that key signs, minted as the README says. The service refreshes the
keys often here, so that an outage meets refreshes that fail."""

from __future__ import annotations

import pytest

from tests.e2e.stack import APP, Override, Stack
from tests.support.tokens import bearer

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["e2e_identity_headers", "identity_override"]

SERVICE = "identity"
# The one-off service that holds the stack's development key, and signs with it.
KEY_SERVICE = "identity-key"
# The service's keys expire this soon, and are refreshed as often: an outage of a few lifespans
# meets refreshes that fail. A fetch is cut at half a second: a stack on a loaded two-core machine
# has taken longer than a quarter to answer a restarted replica's first fetch.
LIFESPAN_SECONDS = 0.5
REFRESH_SECONDS = 0.5
FETCH_TIMEOUT_SECONDS = 0.5


@pytest.fixture(scope="session")
def identity_override() -> Override:
    # Only the refresh is shortened: the provider, its key and the issuer are the stack's own.
    return {
        APP: {
            "environment": {
                "FLASK_AUTH_JWKS_LIFESPAN_SECONDS": str(LIFESPAN_SECONDS),
                "FLASK_AUTH_JWKS_REFRESH_SECONDS": str(REFRESH_SECONDS),
                "FLASK_AUTH_JWKS_TIMEOUT_SECONDS": str(FETCH_TIMEOUT_SECONDS),
            }
        }
    }


def minted_token(stack: Stack, subject: str) -> str:
    """A token of the stack's development key for ``subject`` (both scopes, valid for an hour),
    minted as the README says: ``docker compose run --rm -T identity-key flask ... auth token``."""
    command = ["flask", "--app", "{{ cookiecutter.package_name }}", "auth", "token"]
    ran = stack.run_once(KEY_SERVICE, *command, "--subject", subject)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # The token is all it prints on stdout; its warnings and compose's progress go to stderr.
    return ran.stdout.strip()


@pytest.fixture(scope="session")
def e2e_identity_headers(stack: Stack) -> dict[str, str]:
    return bearer(minted_token(stack, "e2e-client"))
