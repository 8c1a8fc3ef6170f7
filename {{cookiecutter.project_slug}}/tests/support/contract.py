"""What the contract layer shares: where pacts are written, the service's name in them, and the
app served on loopback for a verifier to call."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from pact import Pact, Verifier
from pact.types import Message
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from {{ cookiecutter.package_name }} import create_app, db

from .apps import client_sending

# Pacts are build outputs, written from their definitions (``tests/contract/pacts``) on every run:
# into the session's temporary folder, or where ``PACT_DIR`` says (tox's contract environment
# writes them to ``pacts/``, where ``tox -e pact-publish`` takes them from).
PACT_DIR = "PACT_DIR"
DEFAULT_PACTS = Path(__file__).resolve().parents[2] / "pacts"
# The service's name in every pact it takes part in, as consumer or as provider.
SERVICE = "{{ cookiecutter.project_slug }}"
LOOPBACK = "127.0.0.1"
# Lines a test leaves for the end of the run (the conftest prints them): what it measured.
REPORT = pytest.StashKey[list[str]]()


# How long Pact's verifier waits for an answer (milliseconds), from the service or from a state or
# message handler: one that hangs fails its interaction, instead of holding the run in native code
# that pytest-timeout cannot interrupt. pact-python's default, set where it is relied on.
REQUEST_TIMEOUT_MS = 5000


def pact_dir_from_environment() -> Path | None:
    """Where ``PACT_DIR`` asks pacts to be written, if it does."""
    configured = os.environ.get(PACT_DIR, "").strip()
    return Path(configured) if configured else None


@dataclass(frozen=True)
class Credentials:
    """How a consumer of the API proves who it is: the headers it sends, the same headers as its
    pacts match them, and as schemathesis takes them (by the document's security scheme)."""

    headers: dict[str, str] = field(default_factory=dict)
    pact_headers: dict[str, Any] = field(default_factory=dict)
    openapi_auth: dict[str, Any] = field(default_factory=dict)

    def __or__(self, other: Credentials) -> Credentials:
        return Credentials(
            {**self.headers, **other.headers},
            {**self.pact_headers, **other.pact_headers},
            {**self.openapi_auth, **other.openapi_auth},
        )


def write_pact(pact: Pact, directory: Path) -> Path:
    """Writes the pact into ``directory`` (replacing an older one); returns its file."""
    pact.write_file(directory, overwrite=True)
    path = directory / f"{pact.consumer}-{pact.provider}.json"
    assert path.is_file(), f"pact-python wrote no {path}"
    return path


def interactions(path: Path) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = document["interactions"]
    return found


def contract_app(
    directory: Path, config: Mapping[str, Any], caller_headers: Mapping[str, str]
) -> Flask:
    """The service on an SQLite file of its own, migrated, and ``config`` (the layer's stubs):
    every other dependency is its embedded stand-in, so the layer needs no container. Its
    instance folder is ``directory``'s; its test clients send ``caller_headers``."""
    database_url = f"sqlite:///{directory / 'orders.sqlite3'}"
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, **config},
        instance_path=str(directory / "instance"),
    )
    app.test_client_class = client_sending(caller_headers)
    db.upgrade(db.DATABASE.of(app).engine)
    return app


@contextmanager
def serving(app: WSGIApplication) -> Iterator[str]:
    """Serves ``app`` on a free loopback port in a thread; yields its base URL."""
    server = make_server(LOOPBACK, 0, app, threaded=True)
    # A short poll, so that stopping the server takes milliseconds, not half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@dataclass
class CallbackErrors:
    """What went wrong in the callbacks Pact's verifier makes into the test (provider states,
    messages), recorded so that the test fails with it first: the verifier only reports that a
    callback answered an error, and pact-python then only that the verification failed."""

    found: list[str] = field(default_factory=list)

    def state_handler(
        self, set_up: Callable[[str, dict[str, Any]], None]
    ) -> Callable[[str, str, dict[str, Any] | None], None]:
        """A state handler that sets up each state with ``set_up`` and never raises: the verifier
        retries a failed state change with back-off (minutes per interaction, in native code that
        pytest-timeout cannot interrupt), and offers no setting to stop it. The interaction then
        fails against a service without its state, and the test with the recorded error."""

        def handler(state: str, action: str, parameters: dict[str, Any] | None) -> None:
            if action != "setup":
                return
            try:
                set_up(state, parameters or {})
            except Exception as error:  # recorded: verify() fails on it
                self.record(f"provider state {state!r}", error)

        return handler

    def producer(self, description: str, produce: Callable[[], Message]) -> Callable[[], Message]:
        """``produce``, for the message of that description, its error recorded (the verifier
        fails a message that could not be made at once, without retrying)."""

        def producing() -> Message:
            try:
                return produce()
            except Exception as error:  # recorded, and re-raised: nothing to send instead
                self.record(f"message {description!r}", error)
                raise

        return producing

    def record(self, what: str, error: BaseException) -> None:
        self.found.append(f"{what}: {type(error).__name__}: {error}")


def verify(verifier: Verifier, errors: CallbackErrors) -> None:
    """Runs Pact's verifier; fails with what its callbacks recorded, else with the interactions
    that failed, as the verifier reports them."""
    try:
        verifier.verify()
    except RuntimeError as error:
        # pact-python raises when any interaction fails, naming only the verifier: what failed
        # is in the errors recorded and in the verifier's output, asserted on below.
        failure = str(error)
    else:
        failure = ""
    assert not errors.found, "\n".join(
        ["what Pact's verifier asked of the test failed:", *errors.found]
    )
    assert verifier.results["result"], f"{failure}\n{verifier.output(strip_ansi=True)}"
