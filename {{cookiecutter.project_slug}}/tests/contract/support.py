"""What the contract layer's tests share: where pacts are, the service's name in them, and the
app served on loopback for a verifier to call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from {{ cookiecutter.package_name }} import create_app, db

# Pacts are build outputs, written by the consumer tests of this layer on every run (see README).
PACTS = Path(__file__).resolve().parents[2] / "pacts"
# The service's name in every pact it takes part in, as consumer or as provider.
SERVICE = "{{ cookiecutter.project_slug }}"
LOOPBACK = "127.0.0.1"
# Lines a test leaves for the end of the run (the conftest prints them): what it measured.
REPORT = pytest.StashKey[list[str]]()


def pact_path(consumer: str, provider: str) -> Path:
    return PACTS / f"{consumer}-{provider}.json"


def written_pact(consumer: str, provider: str) -> Path:
    """The pact a consumer test of this layer wrote; the layer runs those tests first."""
    path = pact_path(consumer, provider)
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run the whole layer (tox -e contract), whose consumer tests write it"
        )
    return path


def interactions(path: Path) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = document["interactions"]
    return found


def contract_app(directory: Path, config: Mapping[str, Any]) -> Flask:
    """The service on an SQLite file of its own, migrated, and ``config`` (the layer's stubs):
    every other dependency is its embedded stand-in, so the layer needs no container."""
    database_url = f"sqlite:///{directory / 'orders.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, **config})
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
