"""Every combination of the dependency options, baked once, with the other options cycled through.

Each bake must be fully rendered, carry no trace of an option it did not choose, and pass its own
checks (ruff, mypy, the unit layer). The checks run with the tools of this test environment, which
holds the union of every bake's dependencies; ``test_baked_tox.py`` runs the bakes' real tox
environments for a sample.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import helpers

MATRIX = helpers.matrix()
BAKE = pytest.mark.parametrize("answers", MATRIX, ids=[helpers.combo_id(a) for a in MATRIX])
Baked = Callable[[Mapping[str, str]], Path]

# The modules of the service that exist only for one answer.
MODULES = {
    ("database", "postgresql"): ["dependencies/postgresql.py"],
    ("database", "mariadb"): ["dependencies/mariadb.py"],
    ("cache", "redis"): ["dependencies/cache.py"],
    ("message_broker", "rabbitmq"): ["dependencies/events.py"],
    ("upstream_api", "yes"): ["dependencies/pricing.py"],
    ("upstream_api", "no"): ["dependencies/price_in_request.py"],
    ("observability", "otel"): ["dependencies/telemetry.py"],
}
# The compose service each answer brings.
SERVICES = {
    ("database", "postgresql"): {"postgres"},
    ("database", "mariadb"): {"mariadb"},
    ("cache", "redis"): {"redis"},
    ("message_broker", "rabbitmq"): {"rabbitmq"},
    ("upstream_api", "yes"): {"pricing"},
    # the stand-in provider, and the one-shot that makes the key it publishes
    ("auth", "jwt"): {"identity", "identity-key"},
    # the stand-in OTLP receiver, under a profile of its own: started by the e2e layer only
    ("observability", "otel"): {"collector"},
}
# The setting that points the service at it.
SETTINGS = {
    ("cache", "redis"): "FLASK_REDIS_URL",
    ("message_broker", "rabbitmq"): "FLASK_BROKER_URL",
    ("upstream_api", "yes"): "FLASK_PRICING_URL",
    ("auth", "jwt"): "FLASK_AUTH_JWKS_URL",
}
BASE_DEPENDENCIES = {"flask", "sqlalchemy", "alembic", "pydantic", "python-json-logger", "gunicorn"}
DEPENDENCIES = {
    ("database", "postgresql"): {"psycopg"},
    ("database", "mariadb"): {"pymysql"},
    ("cache", "redis"): {"redis"},
    ("message_broker", "rabbitmq"): {"kombu"},
    ("upstream_api", "yes"): {"pybreaker"},
    ("auth", "jwt"): {"pyjwt"},
    ("observability", "otel"): {"opentelemetry-sdk", "opentelemetry-instrumentation-flask"},
}
# What the test layers and the type checker need for one answer only (the extras).
EXTRAS = {("upstream_api", "yes"): {"responses", "wiremock"}}
# An HTTP client (and its type stubs) for the pricing upstream and for the identity provider's keys.
HTTP_CLIENT_USERS = [("upstream_api", "yes"), ("auth", "jwt")]


def chosen(answers: Mapping[str, str], option_answer: tuple[str, str]) -> bool:
    option, answer = option_answer
    return answers[option] == answer


def test_matrix_covers_every_combination_and_cycles_the_rest() -> None:
    combos = {tuple(a[o] for o in helpers.DEPENDENCY_OPTIONS) for a in MATRIX}
    assert len(MATRIX) == len(combos) == 3 * 2 * 2 * 2
    pairs = {(a["ci"], a["python_version"]) for a in MATRIX}
    assert pairs == {
        (c, p) for c in helpers.CHOICES["ci"] for p in helpers.CHOICES["python_version"]
    }


@BAKE
def test_fully_rendered_and_answers_recorded(baked: Baked, answers: dict[str, str]) -> None:
    project = baked(answers)
    assert helpers.unrendered(project) == []
    for path in helpers.files_of(project):
        if helpers.text_of(path) is None:
            raise AssertionError(f"{path} is not text")  # the template ships no binary file
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert {key: recorded[key] for key in answers} == answers


@BAKE
def test_no_trace_of_unchosen_options(baked: Baked, answers: dict[str, str]) -> None:
    project = baked(answers)
    assert helpers.traces(project, answers) == []
    package = helpers.package_dir(project, answers)
    for option_answer, modules in MODULES.items():
        for module in modules:
            assert (package / module).is_file() == chosen(answers, option_answer), module


@BAKE
def test_compose_services_follow_answers(baked: Baked, answers: dict[str, str]) -> None:
    compose = yaml.safe_load((baked(answers) / "compose.yaml").read_text())
    expected = {name for key, names in SERVICES.items() if chosen(answers, key) for name in names}
    # The service's own processes: the schema migration, the app and (with events) the relay.
    own = {"migrate", "app"} | ({"relay"} if answers["message_broker"] == "rabbitmq" else set())
    assert set(compose["services"]) == own | expected
    app = compose["services"]["app"]
    # The app waits for its schema only; the migration for the database server, if any.
    assert set(app["depends_on"]) == {"migrate"}
    servers = expected & {"postgres", "mariadb"}
    assert set(compose["services"]["migrate"].get("depends_on", {})) == servers
    for process in own:  # every process of the service is configured alike
        environment = compose["services"][process]["environment"]
        for key, setting in SETTINGS.items():
            assert (setting in environment) == chosen(answers, key), (process, setting)
    for service in expected:  # image names are overridable from the environment
        assert compose["services"][service]["image"].startswith("${"), service
    python_image = f"python:{answers['python_version']}-slim"
    assert python_image in app["build"]["args"]["PYTHON_IMAGE"]


# What a dependency's image may add back after dropping every capability: its entrypoint starts as
# root to hand its data directory to its own user, then switches to it.
DROPS_ROOT = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}
# A credential written into compose.yaml rather than taken from the environment: a password in a
# URL's user part, or a password variable, that is not a ${...} reference.
INLINE_CREDENTIAL = re.compile(
    r"://[^/@\s:]+:(?!\$\{)[^@\s]+@|(?<!RANDOM_ROOT_)(PASSWORD|_PASS|AUTH): +(?!\$\{)"
)


def compose_config(project: Path) -> dict[str, Any]:
    """The stack as ``docker compose config`` resolves it with ``.env.example``'s values, which
    must supply every variable compose.yaml requires (it needs the CLI, not an engine)."""
    docker = shutil.which("docker")
    if docker is None:
        reason = "no docker CLI on PATH"
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    ran = subprocess.run(
        [docker, "compose", "--env-file", ".env.example", "config", "--format", "json"],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
        env=helpers.clean_env(),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    config: dict[str, Any] = json.loads(ran.stdout)
    return config


@BAKE
def test_compose_stack_is_hardened(baked: Baked, answers: dict[str, str]) -> None:
    project = baked(answers)
    services = compose_config(project)["services"]

    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert {
        name: [(p["host_ip"], p["published"]) for p in ports] for name, ports in published.items()
    } == {"app": [("127.0.0.1", "8000")]}
    for name, service in services.items():
        assert service.get("read_only") is True, name
        assert "/tmp" in service.get("tmpfs", []), name
        assert service.get("cap_drop") == ["ALL"], name
        assert set(service.get("cap_add", [])) <= DROPS_ROOT, name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert int(service["mem_limit"]) > 0, name
        assert service["pids_limit"] > 0, name
    text = (project / "compose.yaml").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if INLINE_CREDENTIAL.search(line)] == []


@BAKE
def test_pyproject_dependencies_follow_answers(baked: Baked, answers: dict[str, str]) -> None:
    project = baked(answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["name"] == "orders-service"
    dependencies = helpers.requirement_names(pyproject["dependencies"])
    assert dependencies >= BASE_DEPENDENCIES
    for key, names in DEPENDENCIES.items():
        assert (names & dependencies) == (names if chosen(answers, key) else set()), key
    extras = helpers.requirement_names(
        [r for requirements in pyproject["optional-dependencies"].values() for r in requirements]
    )
    for key, names in EXTRAS.items():
        assert (names & extras) == (names if chosen(answers, key) else set()), key
    needs_http = any(chosen(answers, key) for key in HTTP_CLIENT_USERS)
    assert ("requests" in dependencies) == ("types-requests" in extras) == needs_http
    dockerfile = (project / "Dockerfile").read_text()
    assert f"ARG PYTHON_IMAGE=python:{answers['python_version']}-slim" in dockerfile


@BAKE
def test_tox_environments_follow_answers(baked: Baked, answers: dict[str, str]) -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(baked(answers) / "tox.ini")
    labels = {
        section.removeprefix("testenv:"): tox[section].get("labels", "").split()
        for section in tox.sections()
        if section.startswith("testenv:")
    }
    assert {"lint", "type", "unit", "contract", "integration"} <= set(labels)
    assert all("fast" in labels[env] for env in ("lint", "type", "unit", "contract"))
    # Every bake's integration layer builds the service image, so it always needs Docker.
    assert "docker" in labels["integration"]


@BAKE
def test_ruff_clean(baked: Baked, answers: dict[str, str]) -> None:
    project = baked(answers)
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        ran = helpers.run(helpers.python("-m", "ruff", *command), cwd=project)
        assert ran.returncode == 0, ran.output


@BAKE
def test_hadolint_clean(baked: Baked, answers: dict[str, str]) -> None:
    """The Dockerfile passes hadolint with no finding, info level included (its user a number, so
    that an orchestrator can verify it is not root)."""
    project = baked(answers)
    hadolint = str(Path(sys.executable).with_name("hadolint"))
    ran = helpers.run([hadolint, "--failure-threshold", "info", "Dockerfile"], cwd=project)
    assert ran.returncode == 0, ran.output


@BAKE
def test_mypy_clean(baked: Baked, answers: dict[str, str], mypy_cache: Path) -> None:
    project = baked(answers)
    env = helpers.mypy_env(project, mypy_cache)
    ran = helpers.run(helpers.python("-m", "mypy"), cwd=project, env=env)
    assert ran.returncode == 0, ran.output


@BAKE
def test_unit_layer_passes(baked: Baked, answers: dict[str, str]) -> None:
    project = baked(answers)
    env = helpers.clean_env(PYTHONPATH=str(project / "src"))
    command = helpers.unit_layer(project)
    counts = helpers.assert_tests_passed(helpers.run(command, cwd=project, env=env), "unit layer")
    assert counts.get("skipped", 0) == 0, f"the unit layer runs everywhere, nothing skips: {counts}"


@pytest.mark.parametrize(
    "option_answer", [key for key in helpers.TELLTALES if key[0] in helpers.DEPENDENCY_OPTIONS]
)
def test_telltales_find_what_they_look_for(baked: Baked, option_answer: tuple[str, str]) -> None:
    """Each tell-tale is found in a bake that chose its answer, so that its absence elsewhere means
    something (a misspelt pattern would pass every bake)."""
    option, answer = option_answer
    answers = next(a for a in MATRIX if a[option] == answer)
    project = baked(answers)
    missing = [p for p in helpers.TELLTALES[option_answer] if not helpers.mentions(project, p)]
    # The requests/responses patterns cover alternative spellings of one use; one of each suffices.
    if option_answer == ("upstream_api", "yes"):
        missing = [p for p in missing if "requests" not in p and "responses" not in p]
        assert helpers.mentions(project, r"(import|from) requests\b")
        assert helpers.mentions(project, r"\bresponses\s*[<>=~]")
    assert missing == []
