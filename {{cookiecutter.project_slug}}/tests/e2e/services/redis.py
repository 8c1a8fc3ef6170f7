"""Redis in the stack: nothing to read from outside; the service's reads must not depend on it."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["redis_override"]


@pytest.fixture(scope="session")
def redis_override() -> dict[str, Any]:
    return {}
