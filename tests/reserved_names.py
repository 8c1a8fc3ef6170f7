"""The package names a bake may not take, computed; stored in ``cookiecutter.json`` for the hook.

A package named like a module the baked project imports would shadow it. The names are the
top-level import names (``importlib.metadata.packages_distributions()``) of every distribution any
bake installs: the baked ``pyproject.toml``'s dependencies, every extra and the build requirements,
with every option chosen (``tests.baked_requirements``), and everything they require in turn
(markers evaluated here); plus the names the baked project itself takes at its top level. The
standard library is not stored: the hook adds ``sys.stdlib_module_names`` of the Python it runs on.

Computing needs those distributions installed, as in the ``tests`` environment; the hook has to stay
stdlib-only and offline, so it reads the stored result instead (the ``_reserved_names`` key: see
hooks/pre_gen_project.py for why there). ``tests/test_reserved_names.py`` fails when it is stale.

Usage: ``python -m tests.reserved_names`` shows the difference; ``--write`` stores the list.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
from collections.abc import Iterable, Mapping

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import baked_requirements, helpers

KEY = "_reserved_names"
# The one command that refreshes the stored list: its own tox environment installs what any bake
# installs, then writes cookiecutter.json.
REFRESH = "tox -e reserved-names"
COOKIECUTTER_JSON = helpers.TEMPLATE / "cookiecutter.json"
BAKED = helpers.TEMPLATE / "{{cookiecutter.project_slug}}"
# Only such names can be chosen (the hook's PACKAGE pattern); others need no storing.
CHOOSABLE = re.compile(r"^[a-z][a-z0-9_]*$")
# Names the baked project takes that no folder shows.
TAKEN = {
    "app": "the name the baked code gives its Flask application",
    "tox": "the baked project's test runner",
}


class NotInstalledError(RuntimeError):
    pass


def installed_closure(requirements: Iterable[str]) -> set[str]:
    """The normalized names of the distributions ``requirements`` install, transitively, as
    installed here (markers evaluated for this Python); names every requirement not installed."""
    found: set[str] = set()
    done: set[tuple[str, str]] = set()
    missing: set[str] = set()
    queue = [(Requirement(text), "") for text in requirements]
    while queue:
        requirement, for_extra = queue.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": for_extra}):
            continue
        name = canonicalize_name(requirement.name)
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.add(str(requirement))
            continue
        found.add(name)
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) in done:
                continue
            done.add((name, extra))
            queue += [(Requirement(text), extra) for text in distribution.requires or []]
    if missing:
        raise NotInstalledError(
            f"not installed here, so their import names are unknown: {', '.join(sorted(missing))}; "
            f"`{REFRESH}` installs them first"
        )
    return found


def dependency_names(distributions: set[str]) -> dict[str, str]:
    """import name -> the distributions (comma-separated) that install it, for ``distributions``."""
    names: dict[str, set[str]] = {}
    for module, owners in importlib.metadata.packages_distributions().items():
        ours = {canonicalize_name(owner) for owner in owners} & distributions
        if ours and CHOOSABLE.match(module):
            names.setdefault(module, set()).update(ours)
    return {module: ", ".join(sorted(owners)) for module, owners in names.items()}


def project_names() -> dict[str, str]:
    """What the baked project holds at its top level (``tests``, ``src``) and ``TAKEN``."""
    names = dict(TAKEN)
    for entry in BAKED.iterdir():
        name = entry.stem if entry.suffix == ".py" else entry.name
        if CHOOSABLE.match(name) and (entry.is_dir() or entry.suffix == ".py"):
            names[name] = f"the baked project's {entry.name}{'/' if entry.is_dir() else ''}"
    return names


def computed() -> dict[str, str]:
    """name -> why it is reserved (the distributions that install it, or the project's use)."""
    distributions = installed_closure(baked_requirements.baked_requirements())
    names = {
        module: f"from {owners}, which a bake installs"
        for module, owners in dependency_names(distributions).items()
    }
    names.update(project_names())
    return dict(sorted(names.items()))


def stored() -> dict[str, str]:
    return dict(json.loads(COOKIECUTTER_JSON.read_text(encoding="utf-8")).get(KEY, {}))


def difference(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """One line per name added, dropped or changed from ``old`` to ``new``."""
    lines = [f"+ {name}: {new[name]}" for name in sorted(new.keys() - old.keys())]
    lines += [f"- {name}: {old[name]}" for name in sorted(old.keys() - new.keys())]
    lines += [
        f"~ {name}: {old[name]} -> {new[name]}"
        for name in sorted(old.keys() & new.keys())
        if old[name] != new[name]
    ]
    return lines


def write(names: Mapping[str, str]) -> None:
    """Stores ``names`` as the last key of cookiecutter.json, one name a line (so that merges of
    lists refreshed on two branches mostly resolve themselves), keeping the file's format."""
    data = json.loads(COOKIECUTTER_JSON.read_text(encoding="utf-8"))
    data.pop(KEY, None)
    data[KEY] = dict(names)
    COOKIECUTTER_JSON.write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"store the list ({KEY})")
    args = parser.parse_args(argv)
    try:
        new = computed()
    except NotInstalledError as error:
        print(error, file=sys.stderr)
        return 2
    changes = difference(stored(), new)
    if args.write:
        write(new)
        print(f"cookiecutter.json: {KEY} holds {len(new)} names ({len(changes)} changed)")
        if changes:
            print("\n".join(changes))
        return 0
    if changes:
        print("\n".join(changes))
        print(f"{KEY} in cookiecutter.json is stale; refresh it with: {REFRESH}", file=sys.stderr)
        return 1
    print(f"{KEY} in cookiecutter.json is current ({len(new)} names)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
