"""The service's dependencies beyond its own database, one module each.

Each module's ``init_app(app)`` registers what it brings: the defaults of its settings, its
readiness check (and whether the service can work without it), its commands, and what it adds to
the orders resource. The app factory initialises every module found here, so a dependency is
added or removed with its file; nothing else names it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType


@functools.cache
def modules() -> tuple[ModuleType, ...]:
    """Every dependency module, in name order."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__))
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in names)
