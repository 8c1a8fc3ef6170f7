"""The template's own shape: answers reach the baked code through whole files (the post-gen plan)
and short explicit lists, one entry per dependency, not through conditionals threaded into shared
code."""

from __future__ import annotations

import re
from pathlib import Path

from tests import helpers

BAKED = helpers.TEMPLATE / "{{cookiecutter.project_slug}}"
# Where a format allows nothing else (compose, TOML, tox, the README, an env file) and in the lists
# that name the dependencies, each dependency keeps one conditional: 16 to 36 per dependency, six
# dependencies (observability, with 28 counting those shared with another answer, the sixth). The
# bound keeps that from growing back into threaded ifs.
MAX_CONDITIONAL_OPENINGS = 155
# Written by tests/lock.py, each run of packages under the answers that need it: data, not code.
GENERATED = {"requirements-lock.txt"}
_OPENING = re.compile(r"\{%-?\s*if\b")
# In Python, a conditional chooses whole things only:
# a module-level statement, its block tags alone on their lines at column 0...
_MODULE_BLOCK_TAG = re.compile(r"^\{%-? (if .+|elif .+|else|endif) -?%\}$")
# ...a whole import statement closed by its block (``{%- if ... %}`` on the line before)...
_CLOSED_IMPORT = re.compile(r"^(from \S+ )?import [^(]+\{% endif %\}$")
# ...or one entry of a list: ``{%- if ... %}`` alone, then the entry and ``{% endif %}``.
_ENTRY_OPENING = re.compile(r"^    \{%- if .+ %\}$")
_ENTRY = re.compile(r"^    [^\s{].*,\{% endif %\}$")
_BODY_START = re.compile(r"^(async def|def|class) ")
_IMPORT_OPEN = re.compile(r"^(from \S+ )?import .*\($")


def template_lines(suffix: str = "") -> list[tuple[Path, int, str]]:
    return [
        (path, number, line)
        for path in sorted(BAKED.rglob(f"*{suffix}"))
        if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    ]


def test_few_lines_of_the_baked_tree_open_a_conditional() -> None:
    opening = [
        f"{path.relative_to(BAKED)}:{n}"
        for path, n, line in template_lines()
        if _OPENING.search(line) and path.name not in GENERATED
    ]

    assert len(opening) <= MAX_CONDITIONAL_OPENINGS, "\n".join(opening)


def misplaced_conditionals(lines: list[str]) -> list[int]:
    """The numbers of the lines whose conditional is not one of the shapes above, or sits inside a
    function or class body."""
    found = []
    in_body = in_import = False
    for number, line in enumerate(lines, 1):
        if line and not line[0].isspace() and not line.startswith(("{%", ")", "]", "}")):
            in_body = bool(_BODY_START.match(line))
        in_import = (in_import or bool(_IMPORT_OPEN.match(line))) and line.strip() != ")"
        if "{%" not in line:
            continue
        previous = lines[number - 2] if number > 1 else ""
        allowed = (
            _MODULE_BLOCK_TAG.match(line)
            or (_CLOSED_IMPORT.match(line) and _MODULE_BLOCK_TAG.match(previous))
            or (
                _ENTRY_OPENING.match(line)
                and _ENTRY.match(lines[number] if number < len(lines) else "")
            )
            or (_ENTRY.match(line) and _ENTRY_OPENING.match(previous))
        )
        if in_body or in_import or not allowed:
            found.append(number)
    return found


def test_no_conditional_inside_python_code_or_an_import() -> None:
    """In Python, a conditional may only choose whole module-level statements or whole entries of a
    list: never inside a function or class body, an expression, or an import line."""
    found = [
        f"{path.relative_to(BAKED)}:{number}: {path.read_text(encoding='utf-8').splitlines()[number - 1].strip()}"
        for path in sorted(BAKED.rglob("*.py"))
        for number in misplaced_conditionals(path.read_text(encoding="utf-8").splitlines())
    ]

    assert found == []


def test_the_shape_check_refuses_a_conditional_inside_a_function_or_an_import_line() -> None:
    inside_a_function = [
        "def f() -> None:",
        '    {%- if cookiecutter.cache == "redis" %}',
        "    cache,{% endif %}",
    ]
    inside_an_import = ["from . import (", "    {%- if x %}", "    cache,{% endif %}", ")"]
    in_an_expression = ["X = 1{% if y %} + 2{% endif %}"]
    list_entry = ["X = [", "    {%- if x %}", '    "cache",{% endif %}', "]"]

    assert misplaced_conditionals(inside_a_function) == [2, 3]
    assert misplaced_conditionals(in_an_expression) == [1]
    assert misplaced_conditionals(list_entry) == []
    # A list of imported names is a list too, but an import line may hold no conditional.
    assert misplaced_conditionals(inside_an_import) != []


# A drop-in image's declaration of what it stands in for (.ci/images/<name>/Dockerfile), and an image
# name with its default in compose.yaml (``${NAME_IMAGE:-repository:tag}``).
STANDS_IN_FOR = re.compile(r'^LABEL stands-in-for="(?P<image>[^"]+)"$', re.MULTILINE)
DEFAULT_IMAGE = re.compile(r"\$\{(?P<variable>[A-Z][A-Z0-9_]*_IMAGE):-(?P<default>[^}\s]+)\}")


def stand_ins() -> dict[str, str]:
    """The image each drop-in stands in for, by the variable .ci/build-images exports its name in."""
    found = {}
    for dockerfile in sorted((helpers.TEMPLATE / ".ci" / "images").glob("*/Dockerfile")):
        declared = STANDS_IN_FOR.search(dockerfile.read_text(encoding="utf-8"))
        if declared:
            found[f"{dockerfile.parent.name.upper()}_IMAGE"] = declared["image"]
    return found


def release(image: str) -> tuple[str, str]:
    """``postgres:17-alpine`` -> ("postgres", "17"): the repository and the tag's version (its
    variant, such as ``-alpine`` or ``-slim``, left out)."""
    repository, _, tag = image.rpartition(":")
    return repository, tag.split("-")[0]


def test_each_stand_in_is_the_release_line_of_the_baked_default() -> None:
    """What CI tests is what a bake runs: each image compose.yaml names by default (the Python
    one at the default ``python_version``) has a drop-in of the same repository and release line
    (``postgres:17-alpine`` and ``postgres:17``; ``mariadb:11.8`` and ``mariadb:11.8``)."""
    python = helpers.CHOICES["python_version"][0]
    compose = (BAKED / "compose.yaml").read_text(encoding="utf-8")
    compose = compose.replace("{{ cookiecutter.python_version }}", python)
    defaults = {found["variable"]: found["default"] for found in DEFAULT_IMAGE.finditer(compose)}

    drop_ins = stand_ins()

    assert set(drop_ins) == set(defaults)
    for variable, default in defaults.items():
        repository, version = release(default)
        stand_in_repository, series = release(drop_ins[variable])
        assert repository == stand_in_repository, variable
        assert version == series or version.startswith(f"{series}."), (default, drop_ins[variable])
