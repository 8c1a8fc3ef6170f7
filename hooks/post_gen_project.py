"""Wires the chosen dependencies by removing everything that belongs to the others; stdlib only.

The whole wiring is the plan below: for each option, which paths belong to which answer. Files
that mention several dependencies (app factory, pyproject, compose, tox, README) are rendered
with the answers; files that belong to one dependency are removed when it was not chosen.
No network, no ``git init``: the next steps are printed instead.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# option -> answer -> paths (relative to the baked project; {package} is the package name) that
# exist only for that answer.
PLAN: dict[str, dict[str, list[str]]] = {
    "database": {
        "postgresql": ["tests/fixtures/postgresql.py"],
        "mariadb": ["tests/fixtures/mariadb.py"],
    },
    "cache": {
        "redis": [
            "src/{package}/cache.py",
            "tests/unit/test_cache.py",
            "tests/fixtures/redis.py",
            "tests/integration/test_cache.py",
        ],
    },
    "message_broker": {
        "rabbitmq": [
            "src/{package}/events.py",
            "src/{package}/migrations/versions/0002_outbox.py",
            "tests/unit/test_events.py",
            "tests/fixtures/rabbitmq.py",
            "tests/integration/test_events.py",
        ],
    },
    "upstream_api": {
        "yes": [
            "src/{package}/pricing.py",
            "tests/unit/test_pricing.py",
            "tests/fixtures/wiremock.py",
            "tests/integration/test_pricing.py",
            "tests/wiremock",
        ],
    },
    # The CI provider's file runs the tox environments as jobs; with ci=none there is none.
    "ci": {
        "github": [".github/workflows/ci.yml"],
        "gitlab": [".gitlab-ci.yml"],
    },
}


def unchosen_paths(answers: dict[str, str], plan: dict[str, dict[str, list[str]]]) -> list[str]:
    """Every path owned by an answer that was not given, with the package name filled in."""
    return [
        path.format(package=answers["package_name"])
        for option, owners in plan.items()
        for answer, paths in owners.items()
        if answers[option] != answer
        for path in paths
    ]


def remove(project: Path, relative: str) -> None:
    target = project / relative
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()


def remove_empty_dirs(project: Path) -> None:
    for directory in sorted(project.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def next_steps(answers: dict[str, str]) -> str:
    lines = [
        f"Baked {answers['project_slug']}. Next:",
        f"  cd {answers['project_slug']}",
        "  python -m pip install tox",
        "  tox -m fast        # lint, types and unit tests: no Docker, seconds",
        "  tox -m docker      # integration tests against real dependencies (Docker)",
        f"  flask --app {answers['package_name']} run   # the service, embedded defaults",
    ]
    return "\n".join(lines)


def record_answers(answers: dict[str, str], project: Path) -> None:
    """Keeps the answers in the project (``cookiecutter --replay-file``-style), so that a later
    change of template or answer (the CI provider among them) starts from what was chosen."""
    public = {key: value for key, value in answers.items() if not key.startswith("_")}
    text = json.dumps(public, indent=2, ensure_ascii=False) + "\n"
    (project / ".cookiecutter.json").write_text(text, encoding="utf-8")


def main(answers: dict[str, str], project: Path) -> int:
    for relative in unchosen_paths(answers, PLAN):
        remove(project, relative)
    remove_empty_dirs(project)
    record_answers(answers, project)
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main(ANSWERS, Path.cwd()))
