"""What the contract layer shares: where pacts are written, the service's name in them, and the
app served on loopback for a verifier to call."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from pact import Pact
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
    database: db.Database = app.extensions[db.EXTENSION]
    db.upgrade(database.engine)
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
