"""The lock a bake carries (``requirements-lock.txt``, written by ``tox -e lock``: tests/lock.py) is
never stale against the bake's ``pyproject.toml``: for every combination of the dependency answers,
each requirement the bake can install (its dependencies, every extra, the ``tools`` group, the
build backend and tox.ini's own ``deps``) is pinned, at a version that requirement allows. Offline:
the files are only rendered and compared."""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Mapping
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests import helpers, lock
from tests.baked_requirements import BAKED_PYPROJECT, render, requirements_of

BAKED_LOCK = "{{cookiecutter.project_slug}}/requirements-lock.txt"
BAKED_TOX = "{{cookiecutter.project_slug}}/tox.ini"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)")


def pins(text: str) -> dict[str, Version]:
    found = {}
    for line in text.splitlines():
        pinned = PIN.match(line)
        if pinned:
            found[canonicalize_name(pinned["name"])] = Version(pinned["version"])
    return found


def tox_deps(text: str) -> set[str]:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read_string(text)
    return {
        line.strip()
        for section in tox.sections()
        for line in tox[section].get("deps", "").splitlines()
        if line.strip()
    }


def wanted(context: Mapping[str, Any]) -> set[str]:
    pyproject = tomllib.loads(render(BAKED_PYPROJECT, context))
    groups = {item for items in pyproject.get("dependency-groups", {}).values() for item in items}
    return requirements_of(pyproject) | groups | tox_deps(render(BAKED_TOX, context))


@pytest.mark.parametrize(
    "bake", lock.combinations(), ids=lambda bake: "+".join(answer for _, answer in bake)
)
def test_the_lock_pins_every_requirement_of_the_bake(bake: lock.Combination) -> None:
    context = {**helpers.default_context(), **dict(bake)}
    pinned = pins(render(BAKED_LOCK, context))

    for line in sorted(wanted(context)):
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{line}: not in the lock (run `tox -e lock`)"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{line}: the lock has {pinned[name]} (run `tox -e lock`)"
        )


def test_the_lock_pins_only_what_the_answers_install() -> None:
    """A bake without a dependency carries none of its packages: each conditional section of the
    lock is held to the answers that need it (the all-out bake has none of the sections)."""
    defaults = helpers.default_context()
    everything = pins(render(BAKED_LOCK, {**defaults, **dict(lock.combinations()[0])}))
    nothing = pins(render(BAKED_LOCK, {**defaults, **dict(lock.combinations()[-1])}))

    assert {"psycopg", "redis", "kombu", "pybreaker"} <= set(everything)
    assert not {"psycopg", "pymysql", "redis", "kombu", "pybreaker", "wiremock"} & set(nothing)
