"""Who may call the orders API: bearer tokens (JWT) checked against the identity provider's keys.

- Every ``/orders`` operation needs ``Authorization: Bearer <JWT>``: its signature checked with
  the provider's key named by its ``kid`` (JWKS), with an algorithm of ``AUTH_ALGORITHMS`` (public
  key ones only: never ``none``, never HMAC, whose secret a public key would become), and its
  issuer, audience, expiry and not-before (within ``AUTH_LEEWAY_SECONDS``). Nothing else in the
  header picks a key: ``jku``, ``x5u`` and an embedded ``jwk`` are never read. A token larger
  than ``AUTH_MAX_TOKEN_BYTES`` is refused unread.
- Each view says the scope it needs (``access.requires``; creating and cancelling need
  ``orders:write``, reading ``orders:read``), granted by the token's ``scope`` claim
  (space-separated) or ``scp``. A view that says neither a scope nor ``access.public`` is refused
  to every caller.
- Each order records its owner, the token's subject (``sub``, at most ``MAX_SUBJECT_LENGTH``
  characters), in a table of its own; a caller sees, lists and cancels its own orders only.
  Another's answers 404, as an unknown id does, so that ids cannot be probed; an idempotency
  key is the caller's own (another caller's equal key is another key). A cached order is kept per
  caller (``wiring.Confinement.viewer``), so a cache never serves one caller's order to another.
  Events of an order name its owner (``owner``).
- The provider's keys are fetched with a timeout and kept for ``AUTH_JWKS_LIFESPAN_SECONDS``; a
  failed refresh keeps them, so that tokens signed by known keys work through a provider outage.
  A ``kid`` not among them refetches the keys (a rotation). Any refetch happens at most once
  every ``AUTH_JWKS_REFRESH_SECONDS``: forged kids cannot flood the provider, and through an
  outage one request per interval waits for its timeout, not every one. Until the keys were
  fetched once, a failed fetch is tried again sooner, after ``AUTH_JWKS_RETRY_SECONDS`` (or the
  refresh interval, if shorter).
- Readiness: the provider is required until its keys were fetched once (without them no caller
  can be authenticated), then reported degraded while its last refresh failed. Probes refresh
  the keys only when a request would, within the same limit.
- Without ``AUTH_JWKS_URL`` (development), a key pair in the instance folder stands in for the
  provider, and ``flask auth token`` prints tokens it signed (``flask auth jwks``, its public
  half, is what the compose stack's stand-in provider publishes); the production entry point
  refuses to start without the provider's settings.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import jwt
import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, current_app, g, request
from flask.cli import AppGroup
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import access, config, openapi, wiring
from ..access import READ, WRITE
from ..db import Base, BigId, ExactString
from ..models import CREATED, Order
from ..problems import problem_response

SETTINGS: dict[str, Any] = {
    # The identity provider: its JWKS document, the issuer and audience its tokens carry.
    "AUTH_JWKS_URL": None,
    "AUTH_ISSUER": None,
    "AUTH_AUDIENCE": "{{ cookiecutter.project_slug }}",
    "AUTH_ALGORITHMS": ["RS256", "ES256"],
    "AUTH_LEEWAY_SECONDS": 30,
    "AUTH_JWKS_TIMEOUT_SECONDS": 2.0,
    "AUTH_JWKS_LIFESPAN_SECONDS": 300,
    "AUTH_JWKS_REFRESH_SECONDS": 30,
    # Until the keys were fetched once every caller waits for them: a failed fetch is tried again
    # after this (or the refresh interval, if shorter).
    "AUTH_JWKS_RETRY_SECONDS": 1.0,
    # Below the 8 KB a server takes for a header line (gunicorn answers a longer one 431 itself).
    "AUTH_MAX_TOKEN_BYTES": 4096,
}
# What no provider ever signs with for this service: HMAC would take a public key as its secret.
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_SUBJECT_LENGTH = 255
# A key set of a few keys is a few kilobytes.
MAX_JWKS_BYTES = 64 * 1024
# The default of ``AUTH_JWKS_RETRY_SECONDS``, for a key set made without one.
UNKNOWN_RETRY_SECONDS = SETTINGS["AUTH_JWKS_RETRY_SECONDS"]
REALM = "{{ cookiecutter.project_slug }}"
EMBEDDED_KEY_FILE = "auth-signing-key.pem"
EMBEDDED_KID = "embedded"
EMBEDDED_ISSUER = "{{ cookiecutter.project_slug }}-embedded"
logger = logging.getLogger(__name__)


class Unauthenticated(Exception):
    """No usable token: answered 401."""


class Forbidden(Exception):
    """A valid token without the scope the operation needs: answered 403."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"This operation needs the scope {scope}.")
        self.scope = scope


class ProviderUnavailable(Exception):
    """The provider's keys cannot be had, and none are known: answered 503."""


@dataclass(frozen=True)
class Caller:
    subject: str
    scopes: frozenset[str]


class OrderOwner(Base):
    """Whose an order is: the subject of the token that created it."""

    __tablename__ = "order_owners"

    order_id: Mapped[int] = mapped_column(
        BigId,
        sa.ForeignKey("orders.id", name="fk_order_owners_order", ondelete="CASCADE"),
        primary_key=True,
    )
    owner: Mapped[str] = mapped_column(ExactString(MAX_SUBJECT_LENGTH), index=True)


class OwnOrders:
    """The orders' confinement: a caller's own orders only."""

    def narrowed(self, query: sa.Select[Order]) -> sa.Select[Order]:
        return query.join(OrderOwner, OrderOwner.order_id == Order.id).where(
            OrderOwner.owner == current_caller().subject
        )

    def viewer(self) -> str:
        return current_caller().subject

    def event_fields(self) -> dict[str, str]:
        return {"owner": current_caller().subject}


class KeySet:
    """The provider's signing keys by ``kid``, refreshed as the module docstring says.

    PyJWT's ``PyJWKClient`` empties its cached set when a fetch fails and refetches for every
    unknown ``kid``: through a provider outage every token would be refused, and forged kids
    would reach the provider as fast as they come. This keeps PyJWT's parsing (``PyJWKSet``) and
    changes only when to fetch."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        lifespan_seconds: float,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        state: str | None = None,
        retry_seconds: float = UNKNOWN_RETRY_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._lifespan = lifespan_seconds
        self._refresh_interval = refresh_seconds
        self._retry_interval = retry_seconds
        self._clock = clock
        # What readiness reports while the keys are usable (``embedded`` for the development key).
        self._state = state
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._last_failed = False
        # Set when the fetch in flight ends; None while none is.
        self._fetched: threading.Event | None = None
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        return self._fetched_at is not None

    def forget(self) -> None:
        """Drops the keys and the record of every fetch, as if just made: the next caller
        fetches them (a test sharing one app with others starts from no keys)."""
        with self._lock:
            self._keys = {}
            self._fetched_at = None
            self._tried_at = None
            self._last_failed = False

    def key(self, kid: str) -> jwt.PyJWK:
        # Refetches are rate-limited whatever their cause: through an outage, one request per
        # interval waits for the provider's timeout, not every one.
        # Keys past their lifespan still serve while the new ones are fetched: only a caller
        # who has none to use waits for a fetch.
        self._refresh_if(self._expired, wait=not self.known)
        found = self._keys.get(kid)
        if found is None:
            self._refresh_if(lambda: kid not in self._keys, wait=True)
            found = self._keys.get(kid)
        if found is None:
            if not self.known:
                raise ProviderUnavailable("the identity provider's keys could not be fetched")
            raise Unauthenticated("The token's key is not one of the identity provider's.")
        return found

    def warm(self) -> None:
        """Fetches the keys now, unless known; a failure is logged, and the first token's
        check tries again."""
        self._refresh_if(lambda: not self.known, wait=True)

    def check(self, _bound: float) -> str | None:
        """Readiness: the keys refreshed if they are due, within the refresh limit as for a
        request (so probes never reach the provider more often); fails while no keys are known
        or the last refresh failed. Bounded by ``AUTH_JWKS_TIMEOUT_SECONDS``."""
        self._refresh_if(self._expired, wait=False)
        if not self.known:
            raise ProviderUnavailable("the identity provider's keys could not be fetched")
        if self._last_failed:
            raise ProviderUnavailable("the identity provider's keys could not be refreshed")
        return self._state

    def _expired(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._lifespan

    def _may_refresh(self) -> bool:
        # Until the keys are known every caller waits for them: retried sooner, yet never more
        # than once per retry interval.
        interval = (
            self._refresh_interval
            if self.known
            else min(self._retry_interval, self._refresh_interval)
        )
        return self._tried_at is None or self._clock() - self._tried_at >= interval

    def _refresh_if(self, due: Callable[[], bool], wait: bool) -> None:
        """Refetches the keys if ``due`` and the refresh limit allows, keeping the known ones when
        that fails. Decided under the lock, so that callers arriving together make one fetch; the
        fetch itself outside it, so that no caller with a key to use waits for the provider. A
        caller arriving during a fetch waits for it only if ``wait`` (it has no key to use)."""
        with self._lock:
            in_flight = self._fetched
            starting = in_flight is None and due() and self._may_refresh()
            if starting:
                self._fetched = done = threading.Event()
                self._tried_at = self._clock()
        if in_flight is not None:
            if wait:
                in_flight.wait()  # as long as the fetch, itself bounded (``fetch_jwks``)
        elif starting:
            self._fetch_now(done)

    def _fetch_now(self, done: threading.Event) -> None:
        try:
            self._take(self._fetch())
        except (requests.RequestException, ValueError, jwt.PyJWKSetError) as error:
            logger.warning("identity provider keys not refreshed: %s", error)
            self._last_failed = True
        finally:
            with self._lock:
                self._fetched = None
            done.set()

    def _take(self, document: dict[str, Any]) -> None:
        self._keys = {
            key.key_id: key
            for key in jwt.PyJWKSet.from_dict(document).keys
            if key.key_id and key.public_key_use in ("sig", None)
        }
        self._fetched_at = self._tried_at
        self._last_failed = False


class Verifier:
    """Turns a bearer token into its caller, or refuses it."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        leeway_seconds: float,
        max_token_bytes: int,
    ) -> None:
        unsafe = set(algorithms) - PUBLIC_KEY_ALGORITHMS
        if unsafe or not algorithms:
            raise ValueError(f"AUTH_ALGORITHMS must name public key algorithms only: {unsafe}")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.leeway_seconds = leeway_seconds
        self.max_token_bytes = max_token_bytes

    def caller(self, token: str) -> Caller:
        if len(token.encode()) > self.max_token_bytes:
            raise Unauthenticated("The token is too large.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is not a JWT.") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self.algorithms:
            raise Unauthenticated(f"The token's algorithm is not one of {self.algorithms}.")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("The token names no key (kid).")
        key = self.keys.key(kid)
        if key.algorithm_name != algorithm:
            raise Unauthenticated("The token's algorithm is not its key's.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"The token is not valid: {error}.") from None
        subject = claims["sub"]
        # Printable only: a NUL or a lone surrogate is no one's name, and no database stores it.
        if (
            not isinstance(subject, str)
            or not 0 < len(subject) <= MAX_SUBJECT_LENGTH
            or not subject.isprintable()
        ):
            raise Unauthenticated(
                f"The token's subject is not 1 to {MAX_SUBJECT_LENGTH} printable characters."
            )
        return Caller(subject, _scopes(claims))


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    granted = claims.get("scope", claims.get("scp", ""))
    if isinstance(granted, str):
        return frozenset(granted.split())
    if isinstance(granted, list):
        return frozenset(str(scope) for scope in granted)
    return frozenset()


# The app's key set, so that what it fetched can be dropped without building a new app.
KEYS: wiring.Extension[KeySet] = wiring.Extension(f"{__name__}.keys")


def init_app(app: Flask) -> None:
    wiring.settings(app, SETTINGS)
    if config.given(app, "AUTH_JWKS_URL") or not app.config["EMBEDDED_DEFAULTS"]:
        keys = _provider_keys(app)
        issuer = config.required(app, "AUTH_ISSUER", "tokens cannot be checked")
    else:
        logger.warning(
            "FLASK_AUTH_JWKS_URL is not set: tokens are checked with a development key in the "
            "instance folder (development only; `flask auth token` prints one)"
        )
        keys = _embedded_keys(app)
        issuer = EMBEDDED_ISSUER
    verifier = Verifier(
        keys,
        issuer=issuer,
        # Never empty: a token without an audience, or with an empty one, would then pass.
        audience=config.required(app, "AUTH_AUDIENCE", "tokens for any service would be taken"),
        algorithms=list(app.config["AUTH_ALGORITHMS"]),
        leeway_seconds=float(app.config["AUTH_LEEWAY_SECONDS"]),
        max_token_bytes=int(app.config["AUTH_MAX_TOKEN_BYTES"]),
    )
    KEYS.set(app, keys)
    app.before_request(functools.partial(_authenticate, verifier))
    wired = wiring.of(app)
    wired.confinement = OwnOrders()
    wired.amendments.append(_document_security)
    wired.on_recorded.append(_record_owner)
    app.register_error_handler(Unauthenticated, _unauthenticated)
    app.register_error_handler(Forbidden, _forbidden)
    app.register_error_handler(ProviderUnavailable, _provider_unavailable)
    wiring.register(
        app,
        # Required until the keys were fetched once: without them nobody can be authenticated.
        wiring.Dependency("identity", keys.check, required=lambda: not keys.known, warm=keys.warm),
    )
    app.cli.add_command(auth_cli)


def fetch_jwks(http: requests.Session, url: str, timeout: float) -> dict[str, Any]:
    """The provider's JWKS document. A redirect is not followed, and only a 200 carries keys: they
    come from where the settings say, or not at all. ``timeout`` bounds the whole document, not
    only each read (a provider sending a byte a second would never time out otherwise), and it
    may be ``MAX_JWKS_BYTES`` at most."""
    deadline = time.monotonic() + timeout
    with http.get(url, timeout=timeout, allow_redirects=False, stream=True) as response:
        if response.status_code != 200:
            raise requests.HTTPError(
                f"the JWKS URL answered {response.status_code}", response=response
            )
        body = bytearray()
        for chunk in response.iter_content(4096):
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError(f"the JWKS document is larger than {MAX_JWKS_BYTES} bytes")
            if time.monotonic() > deadline:
                raise requests.Timeout(f"the JWKS document took longer than {timeout:g} s")
    document: dict[str, Any] = json.loads(body)
    return document


def _provider_keys(app: Flask) -> KeySet:
    url = config.required(app, "AUTH_JWKS_URL", "tokens cannot be checked")
    timeout = config.seconds(app, "AUTH_JWKS_TIMEOUT_SECONDS")
    http = requests.Session()
    return KeySet(
        lambda: fetch_jwks(http, url, timeout),
        lifespan_seconds=float(app.config["AUTH_JWKS_LIFESPAN_SECONDS"]),
        refresh_seconds=float(app.config["AUTH_JWKS_REFRESH_SECONDS"]),
        retry_seconds=config.seconds(app, "AUTH_JWKS_RETRY_SECONDS"),
    )


def _embedded_keys(app: Flask) -> KeySet:
    document = _embedded_jwks(app)
    return KeySet(
        lambda: document, lifespan_seconds=float("inf"), refresh_seconds=0, state="embedded"
    )


def _embedded_jwks(app: Flask) -> dict[str, Any]:
    """The JWKS document of the development key: what a provider would publish for it."""
    public = _embedded_private_key(app).public_key()
    jwk = {
        **json.loads(RSAAlgorithm.to_jwk(public)),
        "kid": EMBEDDED_KID,
        "alg": "RS256",
        "use": "sig",
    }
    return {"keys": [jwk]}


def _embedded_private_key(app: Flask) -> rsa.RSAPrivateKey:
    """The development signing key, made on first use and kept in the instance folder. Made
    aside (a file of its own, readable by its owner only) and linked into place, so that
    processes or threads starting together end up with one key."""
    path = Path(app.instance_path) / EMBEDDED_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")
        with os.fdopen(descriptor, "wb") as written:
            written.write(pem)
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
        os.unlink(aside)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise RuntimeError(f"{path} holds no RSA private key")
    return loaded


def _authenticate(verifier: Verifier) -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    # No view: the URL or its method is unknown, answered 404 or 405 as it is.
    if view is None or (access.declared(view) and access.scope_of(view) is None):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("")
    caller = verifier.caller(token.strip())
    needed = access.scope_of(view)
    if needed is None or needed not in caller.scopes:
        raise Forbidden(needed or "(none)")
    g.caller = caller


def _document_security(document: dict[str, Any]) -> None:
    """The bearer scheme, and for each operation the scope it needs and the refusals it adds."""
    components = document["components"]
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": f"A token of the identity provider, for the audience {REALM}, "
            f"granting the scope the operation names ({READ} or {WRITE}).",
        }
    }
    for rule in current_app.url_map.iter_rules():
        scope = access.scope_of(current_app.view_functions[rule.endpoint])
        # A route the document does not list yet is left out; the unit layer names it.
        operations = document["paths"].get(openapi.path_of(rule), {})
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if scope is not None and method.lower() in operations:
                _secure(operations[method.lower()], scope)


def _secure(operation: dict[str, Any], scope: str) -> None:
    operation["security"] = [{"bearer": [scope]}]
    operation["responses"].update(
        {
            "401": openapi.problem("No bearer token, or one that is not valid"),
            "403": openapi.problem(f"The token does not grant {scope}"),
        }
    )


def _record_owner(session: Session, order: Order, change: str) -> None:
    # In the transaction that stores the order: an order never exists without its owner.
    if change == CREATED:
        session.add(OrderOwner(order_id=order.id, owner=current_caller().subject))


def current_caller() -> Caller:
    """The caller of the current request, authenticated before the view ran."""
    caller: Caller = g.caller
    return caller


def _unauthenticated(error: Unauthenticated) -> Response:
    detail = str(error)
    response = problem_response(
        401, "Unauthorized", detail or "Send a bearer token: Authorization: Bearer <token>."
    )
    # RFC 6750: no error code when the request carried no token at all.
    challenge = f'Bearer realm="{REALM}"'
    if detail:
        challenge += ', error="invalid_token", error_description="' + _quoted(detail) + '"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def _forbidden(error: Forbidden) -> Response:
    response = problem_response(403, "Forbidden", str(error))
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{error.scope}"'
    )
    return response


def _provider_unavailable(error: ProviderUnavailable) -> Response:
    logger.warning("identity provider unavailable: %s", error)
    return problem_response(
        503, "Service Unavailable", "The identity provider did not answer; try again shortly."
    )


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


def sign(private_key: Any, claims: dict[str, Any], kid: str, algorithm: str = "RS256") -> str:
    return jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid})


auth_cli = AppGroup("auth", help="Bearer tokens (development key).")


@auth_cli.command("token")
@click.option("--subject", required=True, help="Who the token names (its sub).")
@click.option(
    "--scope", "scopes", multiple=True, default=(READ, WRITE), show_default=True,
    help="A scope it grants; repeat for more.",
)  # fmt: skip
@click.option("--minutes", type=int, default=60, show_default=True, help="How long it is valid.")
def token_command(subject: str, scopes: tuple[str, ...], minutes: int) -> None:
    """Prints a token signed by the development key (embedded defaults only)."""
    if current_app.config["AUTH_JWKS_URL"]:
        raise click.UsageError("the identity provider signs tokens here, not this service")
    now = int(time.time())
    claims = {
        "iss": EMBEDDED_ISSUER,
        "aud": current_app.config["AUTH_AUDIENCE"],
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": now,
        "nbf": now,
        "exp": now + 60 * minutes,
    }
    click.echo(sign(_embedded_private_key(current_app), claims, EMBEDDED_KID))


@auth_cli.command("jwks")
def jwks_command() -> None:
    """Prints the development key's JWKS document (its public half), for a stand-in provider
    such as the compose stack's."""
    click.echo(json.dumps(_embedded_jwks(current_app), indent=2))
