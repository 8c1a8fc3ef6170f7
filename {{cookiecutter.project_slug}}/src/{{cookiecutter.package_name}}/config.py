"""Configuration: embedded defaults, overridden by ``FLASK_<NAME>`` environment variables.

The settings the service always has are below; each dependency adds its own (``wiring.settings``).
Flask's ``from_prefixed_env`` parses each value as JSON when it can, so
``FLASK_READINESS_TIMEOUT_SECONDS=5`` arrives as a number and ``FLASK_DATABASE_URL=sqlite:///...`` as a
string.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    # None means "an SQLite file in the instance folder": the service runs with no infrastructure.
    "DATABASE_URL": None,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "LOG_LEVEL": "INFO",
    "READINESS_TIMEOUT_SECONDS": 2.0,
}


class InvalidSetting(RuntimeError):
    """A setting the service cannot work with: it does not start, rather than serve with it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"FLASK_{name} {problem}.")
        self.name = name


class MissingSetting(InvalidSetting):
    """A setting the production configuration needs is unset or empty: the service does not
    start, rather than start on a stand-in (``wsgi.py``)."""

    def __init__(self, name: str, consequence: str) -> None:
        super().__init__(name, f"is not set: {consequence}")


def given(app: Flask, name: str) -> bool:
    """Whether the setting has a value: unset, empty, blank or JSON ``null`` (``None``) is none."""
    value = app.config.get(name)
    return value is not None and str(value).strip() != ""


def required(app: Flask, name: str, consequence: str) -> str:
    """The setting's text; without one, ``MissingSetting`` saying what it would cost."""
    if not given(app, name):
        raise MissingSetting(name, consequence)
    value = app.config[name]
    if not isinstance(value, str):
        # JSON that is not a string (``0``, ``[]``, ``true``) is a mistake, not a URL or a name.
        raise InvalidSetting(name, f"must be text, not {value!r}")
    return value


def seconds(app: Flask, name: str) -> float:
    """The setting as a duration: a finite number of seconds above zero."""
    value = app.config[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting(name, f"must be a number of seconds, not {value!r}")
    if not 0 < value < float("inf"):
        raise InvalidSetting(name, f"must be above zero and finite, not {value!r}")
    return float(value)


def above(settings: Mapping[str, Any], name: str, lower: str, consequence: str) -> None:
    """``name``'s duration is above ``lower``'s, or ``InvalidSetting`` saying what it would cost."""
    value, bound = float(settings[name]), float(settings[lower])
    if value <= bound:
        raise InvalidSetting(
            name, f"must be above FLASK_{lower} ({bound:g}), not {value:g}: {consequence}"
        )


def load(
    app: Flask, overrides: Mapping[str, Any] | None = None, *, embedded_defaults: bool = True
) -> None:
    # EMBEDDED_DEFAULTS: in-process stand-ins for what is not configured, so that ``flask run``
    # works on a fresh clone. The production entry point (wsgi.py) turns them off: there, a
    # missing setting is an error at start, never a silent fallback, and logs are JSON lines for
    # a collector rather than text for a person.
    app.config.from_mapping(
        DEFAULTS, EMBEDDED_DEFAULTS=embedded_defaults, LOG_JSON=not embedded_defaults
    )
    app.config.from_prefixed_env()
    if overrides:
        app.config.from_mapping(overrides)
    if not isinstance(app.config["EMBEDDED_DEFAULTS"], bool):
        # Only JSON's true and false: "False" or "off" would be a string, and true.
        raise InvalidSetting("EMBEDDED_DEFAULTS", "must be true or false")
    if given(app, "DATABASE_URL") or not app.config["EMBEDDED_DEFAULTS"]:
        required(app, "DATABASE_URL", "the service has no database to keep orders in")
    else:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "{{ cookiecutter.package_name }}.sqlite3")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
        app.config["EMBEDDED_DATABASE"] = True
