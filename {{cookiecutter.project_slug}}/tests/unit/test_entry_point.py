"""The production entry point (``wsgi.py``, which gunicorn runs in the image): it serves only a
complete configuration. A setting a dependency needs that is missing, empty or blank stops the
start with an error naming its variable, instead of a stand-in taking orders nowhere (or into a
file of one container, lost with it)."""

from __future__ import annotations

import importlib
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from {{ cookiecutter.package_name }} import wiring
from {{ cookiecutter.package_name }}.config import InvalidSetting, MissingSetting
from tests.support.apps import MakeApp, each_unset_value

WSGI = "{{ cookiecutter.package_name }}.wsgi"


def settings_in_environment(monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any]) -> None:
    """The settings as the platform gives them: ``FLASK_*`` variables, JSON where not text."""
    for name, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(value)
        monkeypatch.setenv(f"FLASK_{name}", text)


def start_in_production(monkeypatch: pytest.MonkeyPatch, instance: Path) -> Flask:
    """Imports the entry point afresh, its instance folder (where a stand-in database would go)
    the test's own; returns its app."""
    monkeypatch.delitem(sys.modules, WSGI, raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda _app: str(instance))
    app: Flask = importlib.import_module(WSGI).app
    return app


def test_nothing_configured_stops_the_start_at_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(MissingSetting, match=r"^FLASK_DATABASE_URL is not set: "):
        start_in_production(monkeypatch, tmp_path)

    assert list(tmp_path.iterdir()) == []


@each_unset_value
def test_every_other_setting_given_a_missing_database_still_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
    service_config: dict[str, Any],
    tmp_path: Path,
    unset: str | None,
) -> None:
    given = {name: value for name, value in service_config.items() if name != "DATABASE_URL"}
    settings_in_environment(monkeypatch, given)
    if unset is not None:
        monkeypatch.setenv("FLASK_DATABASE_URL", unset)

    with pytest.raises(MissingSetting, match=r"^FLASK_DATABASE_URL is not set: "):
        start_in_production(monkeypatch, tmp_path)

    # No SQLite file was made to take orders in its place.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["False", "off", "no", "0", 0, None])
def test_embedded_defaults_are_true_or_false_or_the_start_stops(
    make_app: MakeApp, value: object
) -> None:
    # "False" is a string, and true: it would bring the stand-ins back in production.
    with pytest.raises(InvalidSetting, match=r"^FLASK_EMBEDDED_DEFAULTS must be true or false"):
        make_app(EMBEDDED_DEFAULTS=value)


@pytest.mark.parametrize("value", [0, 123, [], ["orders"], True])
def test_a_setting_that_names_something_must_be_text(make_app: MakeApp, value: object) -> None:
    with pytest.raises(InvalidSetting, match=r"^FLASK_DATABASE_URL must be text, not "):
        make_app(DATABASE_URL=value, EMBEDDED_DEFAULTS=False)


def test_the_production_entry_point_logs_json_lines_for_a_collector(
    monkeypatch: pytest.MonkeyPatch, service_config: dict[str, Any], tmp_path: Path
) -> None:
    settings_in_environment(monkeypatch, service_config)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    app = start_in_production(monkeypatch, tmp_path)
    try:
        app.test_client().get("/healthz", headers={"X-Request-ID": "req-1"})
    finally:
        wiring.close(app)
        for handler in [
            h for h in logging.getLogger().handlers if getattr(h, "stream", None) is stream
        ]:
            logging.getLogger().removeHandler(handler)

    access = [json.loads(line) for line in stream.getvalue().splitlines() if "access" in line]
    assert [(line["path"], line["status"], line["request_id"]) for line in access] == [
        ("/healthz", 200, "req-1")
    ]
