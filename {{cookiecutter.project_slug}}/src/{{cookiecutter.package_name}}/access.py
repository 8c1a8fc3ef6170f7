"""Who may call each view, said at the view: ``@requires(READ)`` for a caller granted a scope,
``@public`` for anybody. Whatever authenticates callers enforces it, and refuses a view that says
neither; the OpenAPI document is amended from the same marks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

READ = "orders:read"
WRITE = "orders:write"
View = TypeVar("View", bound=Callable[..., Any])
# The scope each view needs, None for a public one; a view missing here said nothing.
_DECLARED: dict[Callable[..., Any], str | None] = {}


def requires(scope: str) -> Callable[[View], View]:
    """Only a caller granted ``scope`` may call the view."""

    def declare(view: View) -> View:
        _DECLARED[view] = scope
        return view

    return declare


def public(view: View) -> View:
    """Anybody may call the view, unauthenticated."""
    _DECLARED[view] = None
    return view


def declared(view: Callable[..., Any]) -> bool:
    return view in _DECLARED


def scope_of(view: Callable[..., Any]) -> str | None:
    """The scope the view needs; None for a public view or one that said nothing."""
    return _DECLARED.get(view)
