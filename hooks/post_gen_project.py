"""Wires the chosen dependencies by removing everything that belongs to the others; stdlib only.

The wiring is the plan below: for each option, the files and folders that belong to each answer,
kept whole when it was chosen and removed whole otherwise. A path owned by several answers (a
server database's tests, a folder two dependencies share) stays if any of them was chosen; a path
of ``JOINT`` (what one dependency does for another) only if all of its answers were. The shared files name the dependencies
that remain in short lists, one line each, rendered with the answers: the app factory's
``DEPENDENCIES``, the database servers, each test layer's fixture modules and settings, and the
files a format leaves no other way (compose.yaml, pyproject.toml, tox.ini, the README). No
network, no ``git init``: the next steps are printed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# option -> answer -> paths (relative to the baked project; {package} is the package name).
PLAN: dict[str, dict[str, list[str]]] = {
    "database": {
        "postgresql": [
            "src/{package}/dependencies/postgresql.py",
            "tests/unit/test_postgresql.py",
            "tests/fixtures/postgresql.py",
            "tests/integration/test_postgresql.py",
            "tests/integration/test_database_server.py",
            "tests/e2e/services/postgresql.py",
            "tests/e2e/test_database_server.py",
        ],
        "mariadb": [
            "src/{package}/dependencies/mariadb.py",
            "tests/unit/test_mariadb.py",
            "tests/fixtures/mariadb.py",
            "tests/integration/test_mariadb.py",
            "tests/integration/test_database_server.py",
            "tests/e2e/services/mariadb.py",
            "tests/e2e/test_database_server.py",
        ],
        "sqlite": [
            "tests/fixtures/sqlite.py",
            "tests/e2e/services/sqlite.py",
            "tests/e2e/test_sqlite.py",
        ],
    },
    "cache": {
        "redis": [
            "src/{package}/dependencies/cache.py",
            "tests/unit/fakes/cache.py",
            "tests/unit/test_cache.py",
            "tests/fixtures/redis.py",
            "tests/integration/test_cache.py",
            "tests/e2e/test_redis.py",
        ],
    },
    "message_broker": {
        "rabbitmq": [
            "src/{package}/dependencies/events.py",
            "tests/unit/fakes/events.py",
            "tests/unit/test_events.py",
            "tests/fixtures/rabbitmq.py",
            "tests/integration/test_events.py",
            "tests/e2e/services/rabbitmq.py",
            "tests/e2e/test_rabbitmq.py",
            "tests/contract/consumers/notifier.py",
            "tests/contract/consumers/test_notifier.py",
            "tests/contract/pacts/notifier.py",
            "tests/contract/test_events.py",
        ],
    },
    "upstream_api": {
        "yes": [
            "src/{package}/dependencies/pricing.py",
            "schemathesis.toml",
            "tests/unit/fakes/pricing.py",
            "tests/unit/test_pricing.py",
            "tests/fixtures/wiremock.py",
            "tests/integration/test_pricing.py",
            "tests/wiremock",
            "tests/e2e/services/wiremock.py",
            "tests/e2e/test_pricing.py",
            "tests/contract/pacts/pricing.py",
            "tests/contract/stubs/__init__.py",
            "tests/contract/stubs/pricing.py",
            "tests/contract/test_pricing.py",
            "tests/contract/test_wiremock_stubs.py",
        ],
        "no": [
            "src/{package}/dependencies/price_in_request.py",
            "tests/unit/test_price_in_request.py",
        ],
    },
    "auth": {
        "jwt": [
            "src/{package}/dependencies/auth.py",
            "identity",
            "tests/support/tokens.py",
            "tests/unit/fakes/auth.py",
            "tests/unit/test_auth.py",
            "tests/fixtures/identity.py",
            "tests/integration/test_identity.py",
            "tests/contract/stubs/__init__.py",
            "tests/contract/stubs/identity.py",
            "tests/e2e/services/identity.py",
            "tests/e2e/test_identity.py",
        ],
    },
    "observability": {
        "otel": [
            "src/{package}/dependencies/telemetry.py",
            "telemetry",
            "tests/support/telemetry.py",
            "tests/unit/test_telemetry.py",
            "tests/unit/test_telemetry_export.py",
            "tests/e2e/services/telemetry.py",
            "tests/e2e/test_telemetry.py",
        ],
    },
    # The CI provider's file runs the tox environments as jobs, and its dependency bot's file keeps
    # the pins fresh; with ci=none there is neither.
    "ci": {
        "github": [".github/workflows/ci.yml", ".github/dependabot.yml"],
        "gitlab": [".gitlab-ci.yml", "renovate.json"],
    },
}


# What one dependency does for another (the trace an event carries, say): answers that own paths
# together, each path kept only when every one of them was given.
JOINT: list[tuple[dict[str, str], list[str]]] = [
    (
        {"observability": "otel", "message_broker": "rabbitmq"},
        [
            "src/{package}/dependencies/telemetry_events.py",
            "tests/unit/test_telemetry_events.py",
            "tests/integration/test_telemetry_events.py",
            "tests/e2e/test_telemetry_events.py",
        ],
    ),
    (
        {"observability": "otel", "upstream_api": "yes"},
        [
            "tests/unit/test_telemetry_pricing.py",
            "tests/integration/test_telemetry_pricing.py",
        ],
    ),
]


def unchosen_paths(
    answers: dict[str, str],
    plan: dict[str, dict[str, list[str]]],
    joint: list[tuple[dict[str, str], list[str]]] | None = None,
) -> list[str]:
    """Every path owned only by answers that were not given, and every path of ``joint`` whose
    answers were not all given, with the package name filled in."""
    chosen = {path for option, owners in plan.items() for path in owners.get(answers[option], [])}
    unchosen = {
        path
        for option, owners in plan.items()
        for answer, paths in owners.items()
        if answer != answers[option]
        for path in paths
    }
    apart = {
        path
        for needed, paths in joint or []
        if any(answers[option] != answer for option, answer in needed.items())
        for path in paths
    }
    return sorted(
        path.format(package=answers["package_name"]) for path in (unchosen - chosen) | apart
    )


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


# upstream_api -> a POST /orders body the embedded defaults accept (the price list has SKU-1).
EXAMPLE_ORDER = {
    "yes": {"sku": "SKU-1", "quantity": 2},
    "no": {"sku": "SKU-1", "quantity": 2, "unit_price": "12.50", "currency": "EUR"},
}


# auth -> whether a request names its caller: with a token the development key signs.
NEEDS_TOKEN = {"jwt": True, "none": False}


def next_steps(answers: dict[str, str]) -> str:
    body = json.dumps(EXAMPLE_ORDER[answers["upstream_api"]])
    package = answers["package_name"]
    needs_token = NEEDS_TOKEN[answers["auth"]]
    token_steps = [
        f"  TOKEN=$(flask --app {package} auth token --subject me)   # a development token"
    ]
    credentials = ' -H "Authorization: Bearer $TOKEN"' if needs_token else ""
    lines = [
        f"Baked {answers['project_slug']}. Next:",
        f"  cd {answers['project_slug']}",
        # Systems that refuse installs outside a virtualenv (PEP 668) take these as they are.
        "  python3 -m venv .venv && . .venv/bin/activate",
        "  python -m pip install tox",
        "  tox -m fast        # lint, types, unit and contract tests: no Docker, seconds",
        "  tox -m docker      # integration and whole-stack tests (Docker)",
        "  python -m pip install -e .",
        f"  flask --app {answers['package_name']} run   # the service, embedded defaults",
        *(token_steps if needs_token else []),
        "  curl -s -X POST localhost:5000/orders -H 'Content-Type: application/json'"
        f"{credentials} -d '{body}'   # 201: an order, priced in process",
    ]
    return "\n".join(lines)


def record_answers(answers: dict[str, str], project: Path) -> None:
    """Keeps the answers in the project (``cookiecutter --replay-file``-style), so that a later
    change of template or answer (the CI provider among them) starts from what was chosen."""
    public = {key: value for key, value in answers.items() if not key.startswith("_")}
    text = json.dumps(public, indent=2, ensure_ascii=False) + "\n"
    (project / ".cookiecutter.json").write_text(text, encoding="utf-8")


def main(answers: dict[str, str], project: Path) -> int:
    for relative in unchosen_paths(answers, PLAN, JOINT):
        remove(project, relative)
    remove_empty_dirs(project)
    record_answers(answers, project)
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main(ANSWERS, Path.cwd()))
