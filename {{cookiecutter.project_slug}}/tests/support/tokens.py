"""Bearer tokens as an identity provider signs them, for every layer: keys made in process, their
JWKS document, tokens with the claims a test chooses, and a provider answered in process for the
unit layer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from {{ cookiecutter.package_name }}.access import READ, WRITE

AUDIENCE = "{{ cookiecutter.project_slug }}"
# Where the in-process provider says it is: nothing resolves these names.
JWKS_URL = "http://identity.test/.well-known/jwks.json"
ISSUER = "http://identity.test/"
BOTH_SCOPES = (READ, WRITE)


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair as a provider holds one: its private half signs, its JWK is published."""

    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def token(
        self,
        issuer: str,
        subject: str = "alice",
        scopes: tuple[str, ...] = BOTH_SCOPES,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token valid for an hour from now, unless ``claims`` say otherwise (``None`` drops
        a claim)."""
        now = int(time.time())
        payload = {
            "iss": issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, self.private, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )


def jwks(*keys: SigningKey) -> dict[str, Any]:
    """The JWKS document publishing ``keys``."""
    return {"keys": [key.jwk for key in keys]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class FakeIdentityProvider:
    """The provider's JWKS document served in process, in place of the service's fetch
    (``auth.fetch_jwks``); it counts what it was asked and can be made unreachable."""

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

    @property
    def settings(self) -> dict[str, Any]:
        return {"AUTH_JWKS_URL": JWKS_URL, "AUTH_ISSUER": ISSUER}
