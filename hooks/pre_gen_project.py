"""Validates the answers before anything is written; stdlib only.

The answers arrive as JSON data (``tojson``), never pasted into code, so quotes, backslashes,
newlines or template syntax in an answer cannot break or hijack this hook.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
# Below this line nothing is rendered: the code may speak of template syntax freely.
{% raw -%}

# Names a package may not take, with why: a package named like a module the baked project or its
# tools import would shadow it. The standard library of the Python running this hook, and the
# ``_reserved_names`` of cookiecutter.json: the import names of every distribution any bake installs,
# computed by ``python -m tests.reserved_names`` and kept current by a template test. They come as
# answers do, through ``cookiecutter | tojson`` above: a private key (leading ``_``) is neither asked
# nor rendered, and travels in the context however the template was fetched (a local path, a clone
# of a git URL, cruft, which names no template folder in the context a data file could be found by).
RESERVED: dict[str, str] = ANSWERS.get("_reserved_names") or {}
SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# PEP 440, as published in its appendix (public versions).
VERSION = re.compile(
    r"^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*((a|b|rc)(0|[1-9][0-9]*))?"
    r"(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$"
)
TEMPLATE_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
TEXT_FIELDS = ("project_name", "description", "author_name")
MAX_TEXT = 200
# The baked code names the package in imports: a longer name would push them past the line length.
MAX_PACKAGE = 40


def check_slug(slug: str) -> str | None:
    if not SLUG.match(slug):
        return (
            f"project_slug {slug!r} must be lowercase letters and digits in words joined by "
            "single hyphens, starting with a letter (e.g. 'orders-service')"
        )
    if len(slug) > 64:
        return f"project_slug is {len(slug)} characters long; keep it to 64"
    return None


def check_package(name: str) -> str | None:
    if not PACKAGE.match(name):
        return (
            f"package_name {name!r} must be a lowercase Python identifier: letters, digits and "
            "underscores, starting with a letter"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"package_name {name!r} is a Python keyword"
    why = "the standard library" if name in sys.stdlib_module_names else RESERVED.get(name)
    if why:
        return (
            f"package_name {name!r} would shadow the module of the same name ({why}); "
            "choose another"
        )
    if len(name) > MAX_PACKAGE:
        return f"package_name is {len(name)} characters long; keep it to {MAX_PACKAGE}"
    return None


def check_text(field: str, value: str) -> str | None:
    if not value.strip():
        return f"{field} is empty"
    if len(value) > MAX_TEXT:
        return f"{field} is {len(value)} characters long; keep it to {MAX_TEXT}"
    if any(not ch.isprintable() for ch in value):
        return f"{field} must be one line of printable text (no newlines, tabs or control characters)"
    if TEMPLATE_SYNTAX.search(value):
        return f"{field} must not contain template syntax such as '{{{{', '{{%' or '{{#'"
    return outside_bmp(field, value)


def outside_bmp(field: str, value: str) -> str | None:
    # The baked pyproject.toml and Python sources hold text as JSON strings, which write such a
    # character as a surrogate pair: TOML rejects that, and Python would read two broken characters.
    wide = [ch for ch in value if ord(ch) > 0xFFFF]
    if wide:
        return (
            f"{field} contains U+{ord(wide[0]):X}: characters beyond U+FFFF (emoji and the like) "
            "cannot be written into the baked pyproject.toml; leave them out"
        )
    return None


def check_email(email: str) -> str | None:
    if not EMAIL.match(email) or len(email) > 254:
        return f"author_email {email!r} is not an e-mail address"
    return outside_bmp("author_email", email)


def check_version(version: str) -> str | None:
    if not VERSION.match(version):
        return f"version {version!r} is not a PEP 440 version such as '0.1.0'"
    return None


def problems(answers: dict[str, str]) -> list[str]:
    checks: list[tuple[Callable[[str], str | None], str]] = [
        (check_slug, "project_slug"),
        (check_package, "package_name"),
        (check_email, "author_email"),
        (check_version, "version"),
    ]
    found = [check(str(answers.get(field, ""))) for check, field in checks]
    found += [check_text(field, str(answers.get(field, ""))) for field in TEXT_FIELDS]
    if not RESERVED:
        found.append("the template's _reserved_names are missing from its cookiecutter.json")
    return [problem for problem in found if problem]


def main(answers: dict[str, str]) -> int:
    found = problems(answers)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    if found:
        print("Nothing was generated. Run cookiecutter again with corrected answers.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(ANSWERS))
{%- endraw %}
