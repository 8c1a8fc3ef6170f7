"""What every layer's conftest does with the lists of fixtures it names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


def merged(request: pytest.FixtureRequest, fixtures: Iterable[str]) -> dict[str, Any]:
    """What the named fixtures give (settings, headers: one dict each), merged in order."""
    found: dict[str, Any] = {}
    for fixture in fixtures:
        found.update(request.getfixturevalue(fixture))
    return found
