"""The template's own shape: answers reach the baked code through whole files (the post-gen plan),
not through conditionals threaded into shared code."""

from __future__ import annotations

import re
from pathlib import Path

from tests import helpers

BAKED = helpers.TEMPLATE / "{{cookiecutter.project_slug}}"
# Where a format allows nothing else (compose, TOML, tox, the README, an env file), a dependency
# may keep one conditional block; the bound keeps that from growing back into threaded ifs.
MAX_CONDITIONAL_LINES = 120
_IMPORT_OPEN = re.compile(r"^\s*from\s+\S+\s+import\s+\($")


def template_lines(suffix: str = "") -> list[tuple[Path, int, str]]:
    return [
        (path, number, line)
        for path in sorted(BAKED.rglob(f"*{suffix}"))
        if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    ]


def test_few_lines_of_the_baked_tree_hold_a_conditional() -> None:
    holding = [
        f"{path.relative_to(BAKED)}:{n}" for path, n, line in template_lines() if "{%" in line
    ]

    assert len(holding) <= MAX_CONDITIONAL_LINES, "\n".join(holding)


def test_no_conditional_inside_python_code_or_an_import() -> None:
    """In Python, a conditional may only choose whole module-level statements: never inside a
    function or class body, an expression, or an import line."""
    found = []
    for path in sorted(BAKED.rglob("*.py")):
        in_import = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(BAKED)}:{number}: {line.strip()}"
            if "{%" in line and (in_import or not line.startswith("{%")):
                found.append(where)
            in_import = (in_import or bool(_IMPORT_OPEN.match(line))) and line.strip() != ")"
    assert found == []
