"""Every requirement a bake can install, read from the baked ``pyproject.toml``: the one place each
version pin is written.

The baked pyproject is rendered as cookiecutter renders it, once for every combination of the
choices in ``cookiecutter.json``; the result is the union of its dependencies, of every extra and of
its build requirements. The template's test environments install that list (tox.ini), so their
tools and libraries are the bakes' own, at the bakes' pins. Offline: only cookiecutter is needed.

Usage: ``python -m tests.baked_requirements OUT [--only NAME ...]`` writes a pip requirements file.
"""

from __future__ import annotations

import argparse
import itertools
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests import helpers

BAKED_PYPROJECT = "{{cookiecutter.project_slug}}/pyproject.toml"


def every_choice() -> Iterator[dict[str, str]]:
    """The answers of every combination of the choice questions (the other answers: defaults)."""
    options = list(helpers.CHOICES)
    for values in itertools.product(*(helpers.CHOICES[option] for option in options)):
        yield dict(zip(options, values, strict=True))


def render(relative: str, context: Mapping[str, Any]) -> str:
    """A file of the template as cookiecutter renders it into a bake (its Jinja environment)."""
    from cookiecutter.environment import StrictEnvironment

    environment = StrictEnvironment(
        context={"cookiecutter": dict(context)}, keep_trailing_newline=True
    )
    source = (helpers.TEMPLATE / relative).read_text(encoding="utf-8")
    return environment.from_string(source).render(cookiecutter=dict(context))


def requirements_of(pyproject: Mapping[str, Any]) -> set[str]:
    project = pyproject["project"]
    found = set(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        found.update(extra)
    found.update(pyproject.get("build-system", {}).get("requires", []))
    return found


def baked_requirements() -> list[str]:
    """Sorted and without repeats: what any bake, with any answers, may install."""
    defaults = helpers.default_context()
    # The choices decide no other answer's default, so one default context serves every combination.
    found: set[str] = set()
    for answers in every_choice():
        found |= requirements_of(tomllib.loads(render(BAKED_PYPROJECT, {**defaults, **answers})))
    return sorted(found, key=lambda requirement: (name_of(requirement), requirement))


def name_of(requirement: str) -> str:
    """The normalized distribution name of a requirement (``psycopg[binary]>=3.2`` -> ``psycopg``)."""
    return next(iter(helpers.requirement_names([requirement])))


def select(requirements: Iterable[str], only: Iterable[str]) -> list[str]:
    wanted = {re.sub(r"[-_.]+", "-", name).lower() for name in only}
    chosen = [requirement for requirement in requirements if name_of(requirement) in wanted]
    unknown = wanted - {name_of(requirement) for requirement in chosen}
    if unknown:
        raise SystemExit(f"not a requirement of any bake: {', '.join(sorted(unknown))}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the requirements file to write")
    parser.add_argument(
        "--only", nargs="+", default=None, metavar="NAME",
        help="keep only these distributions (their lines as the baked pyproject writes them)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    requirements = baked_requirements()
    if args.only is not None:
        requirements = select(requirements, args.only)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        f"# Written by `python -m tests.baked_requirements` from {BAKED_PYPROJECT}.\n"
        + "".join(f"{requirement}\n" for requirement in requirements),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
