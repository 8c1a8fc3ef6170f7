"""Fixtures of the dependencies a bake has, gathered for a layer's conftest.

Each dependency brings a module of fixtures per layer (``tests/unit/fakes/<name>.py``,
``tests/fixtures/<name>.py``) that exports them in ``__all__``. A conftest takes in every such
module that exists, so that no shared file names a dependency: removing one is removing its files.
A module's fixture ``<dependency>_settings`` is the app configuration that points the service at
that dependency; the layer's ``service_config`` merges them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

SETTINGS_SUFFIX = "_settings"


def gather(package: str) -> dict[str, Any]:
    """Every name exported by the modules of ``package``, for ``globals().update(...)``."""
    found: dict[str, Any] = {}
    modules = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(modules.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{package}.{info.name}")
        found.update({name: getattr(module, name) for name in getattr(module, "__all__", ())})
    return found


def settings_fixtures(gathered: dict[str, Any]) -> list[str]:
    """The ``<dependency>_settings`` fixtures among the gathered names."""
    return sorted(name for name in gathered if name.endswith(SETTINGS_SUFFIX))


def dependency_names(gathered: dict[str, Any]) -> list[str]:
    """The dependencies the gathered settings configure, besides the database."""
    return [name.removesuffix(SETTINGS_SUFFIX) for name in settings_fixtures(gathered)]
