"""The CI file each ``ci`` answer bakes: only that provider's, valid against the provider's schema,
one job per tox environment of the bake, the supported Pythons, Docker where the layer needs it;
and the splitting of a layer across jobs that the CI files use (pytest-split), run for real."""

from __future__ import annotations

import configparser
import json
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import helpers

Baked = Callable[[Mapping[str, str]], Path]

CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
PROVIDERS = list(CI_FILES)
PYTHONS = helpers.CHOICES["python_version"]
TOX_COMMAND = re.compile(r"\btox -e ([\w-]+)")
# tox environments that are no check: `lock` rewrites the lock from what PyPI has today, which a
# pipeline would turn red with no change of the project's.
NOT_JOBS = {"lock"}


def answers_for(ci: str, python_version: str = "3.12", **more: str) -> dict[str, str]:
    return {**helpers.ALL_IN, "ci": ci, "python_version": python_version, **more}


def tox_labels(project: Path) -> dict[str, list[str]]:
    """Every environment of the bake's tox.ini -> its labels, with ``docker`` added for one that
    passes the engine's settings through without the label (run by name, not by ``tox -m``)."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(project / "tox.ini")
    labels = {}
    for section in tox.sections():
        name = section.removeprefix("testenv:")
        if section.startswith("testenv:") and not name.startswith(".") and name not in NOT_JOBS:
            env = tox[section]
            given = env.get("labels", "").split()
            reaches_engine = "DOCKER_*" in env.get("pass_env", "").split()
            labels[name] = sorted({*given, *(["docker"] * reaches_engine)})
    return labels


def load(project: Path, ci: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / CI_FILES[ci]).read_text())
    return loaded


def jobs(project: Path, ci: str) -> dict[str, dict[str, Any]]:
    """The jobs of the CI file (GitLab's hidden templates, ``.name``, resolved into each job)."""
    document = load(project, ci)
    if ci == "github":
        return dict(document["jobs"])
    return {
        name: resolve_gitlab(document, name)
        for name, job in document.items()
        if isinstance(job, dict) and ("script" in job or "extends" in job)
        and not name.startswith(".")
    }  # fmt: skip


def resolve_gitlab(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    """GitLab's ``extends``: the templates merged in order (mappings deeply), the job's own last."""
    job = dict(document[name])
    templates = job.pop("extends", [])
    merged: dict[str, Any] = {}
    for template in [templates] if isinstance(templates, str) else templates:
        merged = deep_merge(merged, resolve_gitlab(document, template))
    return deep_merge(merged, job)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def commands(job: Mapping[str, Any], ci: str) -> list[str]:
    """What a job runs, one command per string (folded scalars joined as the shell sees them)."""
    if ci == "github":
        return [" ".join(step["run"].split()) for step in job["steps"] if "run" in step]
    return [" ".join(line.split()) for line in job.get("script", [])]


def job_of_env(project: Path, ci: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """tox environment -> (job name, job) of the job that runs it."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, job in jobs(project, ci).items():
        envs = [env for command in commands(job, ci) for env in TOX_COMMAND.findall(command)]
        assert len(envs) == 1, f"job {name} runs one tox environment, not {envs}"
        assert envs[0] not in found, f"{envs[0]} runs in two jobs: {found[envs[0]][0]} and {name}"
        found[envs[0]] = (name, job)
    return found


def pythons_of(job: Mapping[str, Any], ci: str, document: Mapping[str, Any]) -> list[str]:
    """The Python versions a job runs on."""
    if ci == "github":
        versions = job.get("strategy", {}).get("matrix", {}).get("python")
        if versions:
            setup = next(
                s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")
            )
            assert setup["with"]["python-version"] == "${{ matrix.python }}"
            return [str(v) for v in versions]
        return [str(document["env"]["PYTHON_VERSION"])]
    parallel = job.get("parallel")
    if isinstance(parallel, dict):
        (row,) = parallel["matrix"]
        return [str(v) for v in row["PYTHON_VERSION"]]
    assert job["image"] == "python:$PYTHON_VERSION", job
    return [
        str(job.get("variables", {}).get("PYTHON_VERSION", document["variables"]["PYTHON_VERSION"]))
    ]


# --- Which files each answer leaves ---------------------------------------------------------------


@pytest.mark.parametrize("ci", helpers.CHOICES["ci"])
def test_ci_files_only_the_chosen_providers(baked: Baked, ci: str) -> None:
    project = baked(answers_for(ci))
    for provider, relative in CI_FILES.items():
        assert (project / relative).is_file() == (provider == ci), relative
    if ci != "github":
        assert not (project / ".github").exists(), "an emptied .github folder is removed too"
    assert helpers.traces(project, answers_for(ci)) == []


@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_telltales_find_their_provider(baked: Baked, ci: str) -> None:
    """The provider's tell-tales are found in its own bake, so that their absence from the other
    provider's bakes (and from ci=none's) means something."""
    project = baked(answers_for(ci))
    missing = [p for p in helpers.TELLTALES[("ci", ci)] if not helpers.mentions(project, p)]
    assert missing == []
    readme = (project / "README.md").read_text()
    assert CI_FILES[ci] in readme.split("## Continuous integration", 1)[1]


# --- The files themselves -------------------------------------------------------------------------


def check_jsonschema(schema: str, path: Path) -> helpers.Ran:
    """check-jsonschema with a schema it ships (``--builtin-schema``): no network."""
    return helpers.run(
        helpers.python("-m", "check_jsonschema", "--builtin-schema", schema, str(path)),
        cwd=path.parent,
        timeout=120,
    )


@pytest.mark.parametrize("python_version", PYTHONS)
@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_valid_against_the_providers_schema(
    baked: Baked, ci: str, python_version: str, tmp_path: Path
) -> None:
    path = baked(answers_for(ci, python_version)) / CI_FILES[ci]
    ran = check_jsonschema(SCHEMAS[ci], path)
    assert ran.returncode == 0, ran.output
    assert "ok -- validation done" in ran.stdout
    # The same check refuses a misspelt key, so the pass above means something.
    broken = tmp_path / path.name
    misspelt = {"github": ("runs-on:", "runs_on:"), "gitlab": ("  script:", "  scripts:")}[ci]
    broken.write_text(path.read_text().replace(*misspelt))
    refused = check_jsonschema(SCHEMAS[ci], broken)
    assert refused.returncode == 1, refused.output
    assert misspelt[1].strip(" :") in refused.stdout


@pytest.mark.parametrize("combo", [helpers.ALL_IN, helpers.ALL_OUT], ids=["all-in", "all-out"])
@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_every_tox_environment_is_a_job(
    baked: Baked, ci: str, combo: Mapping[str, str]
) -> None:
    project = baked({**combo, "ci": ci})
    envs = tox_labels(project)
    assert {"lint", "type", "unit", "integration"} <= set(envs)
    missing = set(envs) - set(job_of_env(project, ci))
    assert missing == set(), f"tox environments no job of {CI_FILES[ci]} runs"


@pytest.mark.parametrize("python_version", PYTHONS)
@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_pythons(baked: Baked, ci: str, python_version: str) -> None:
    """Type checks and unit tests on every Python the project supports, from requires-python's
    floor, the answer among them; the rest on the answer (the Dockerfile's base image)."""
    project = baked(answers_for(ci, python_version))
    document = load(project, ci)
    requires = tomllib.loads((project / "pyproject.toml").read_text())["project"]["requires-python"]
    floor = requires.removeprefix(">=")
    by_env = job_of_env(project, ci)
    for env in ("type", "unit"):
        versions = pythons_of(by_env[env][1], ci, document)
        assert versions[0] == floor, (env, versions, requires)
        assert set(PYTHONS) <= set(versions), (env, versions)
    for env in ("lint", "integration"):
        assert pythons_of(by_env[env][1], ci, document) == [python_version], env


@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_docker_layers_get_an_engine_and_require_it(baked: Baked, ci: str) -> None:
    project = baked(answers_for(ci))
    labels = tox_labels(project)
    by_env = job_of_env(project, ci)
    docker_envs = [env for env, env_labels in labels.items() if "docker" in env_labels]
    assert "integration" in docker_envs
    for env in docker_envs:
        name, job = by_env[env]
        variables = job.get("env", {}) if ci == "github" else job.get("variables", {})
        assert variables.get("REQUIRE_DOCKER") == "1", name
        if ci == "gitlab":
            (service,) = job["services"]
            assert re.fullmatch(r"docker:[\w.-]*dind", service["name"]), service
            # The nested engine pulls through a mirror of Docker Hub, not from it.
            mirrors = [arg for arg in service["command"] if arg.startswith("--registry-mirror=")]
            assert mirrors == ["--registry-mirror=https://mirror.gcr.io"], service
            assert variables["DOCKER_HOST"] == "tcp://docker:2375"
            assert variables["DOCKER_TLS_CERTDIR"] == ""
            assert variables["TESTCONTAINERS_HOST_OVERRIDE"] == "docker"
    for env in set(labels) - set(docker_envs):
        assert "services" not in by_env[env][1], f"{env} needs no Docker engine"
    # Ryuk cleans up in CI as everywhere: nothing turns it off.
    assert "RYUK_DISABLED" not in (project / CI_FILES[ci]).read_text()


@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_pytest_layers_keep_junit_reports(baked: Baked, ci: str) -> None:
    project = baked(answers_for(ci))
    for env in ("unit", "integration"):
        name, job = job_of_env(project, ci)[env]
        (command,) = [c for c in commands(job, ci) if TOX_COMMAND.search(c)]
        assert re.search(r" -- .*--junitxml=reports/.+\.xml$", command), command
        if ci == "github":
            uploads = [
                s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
            ]
            assert [u["with"]["path"] for u in uploads] == ["reports/"], name
            assert all(u["if"] == "always()" for u in uploads), name
        else:
            assert job["artifacts"]["reports"]["junit"] == "reports/*.xml", name
            assert job["artifacts"]["when"] == "always", name


def test_ci_files_github_permissions_concurrency_caches(baked: Baked) -> None:
    project = baked(answers_for("github"))
    document = load(project, "github")
    assert document["permissions"] == {"contents": "read"}
    assert not any("permissions" in job for job in document["jobs"].values())
    assert document["concurrency"]["group"]
    # A newer push cancels the run still going, except on main, where every commit is checked.
    assert document["concurrency"]["cancel-in-progress"] == "${{ github.ref != 'refs/heads/main' }}"
    for name, job in document["jobs"].items():
        uses = {s["uses"].split("@")[0]: s.get("with", {}) for s in job["steps"] if "uses" in s}
        setup = uses["actions/setup-python"]
        assert (setup["cache"], setup["cache-dependency-path"]) == ("pip", "requirements-lock.txt")
        assert uses["actions/cache"]["path"] == ".tox", name
        assert f"tox-{name}-" in uses["actions/cache"]["key"], "each job its own .tox"
        key = uses["actions/cache"]["key"]
        assert "hashFiles('pyproject.toml', 'requirements-lock.txt', 'tox.ini')" in key, name


def test_ci_files_gitlab_caches_and_pacts(baked: Baked) -> None:
    project = baked(answers_for("gitlab"))
    all_jobs = jobs(project, "gitlab")
    for name, job in all_jobs.items():
        assert set(job["cache"]["paths"]) == {".cache/pip", ".tox"}, name
        assert job["cache"]["key"]["files"] == ["requirements-lock.txt", "tox.ini"], name
    assert "pacts/" in all_jobs["contract"]["artifacts"]["paths"]
    assert load(project, "gitlab")["variables"]["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"


def test_ci_files_github_uploads_pacts(baked: Baked) -> None:
    project = baked(answers_for("github"))
    contract = load(project, "github")["jobs"]["contract"]
    paths = [s["with"]["path"] for s in contract["steps"] if "upload-artifact" in s.get("uses", "")]
    assert "pacts/" in paths


# --- Splitting a layer across jobs ----------------------------------------------------------------


@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_integration_layer_split_in_groups(baked: Baked, ci: str) -> None:
    """The integration job runs as N jobs, group i of N each (pytest-split's groups are 1..N), and
    the bake's integration extra brings pytest-split."""
    project = baked(answers_for(ci))
    _, job = job_of_env(project, ci)["integration"]
    (command,) = [c for c in commands(job, ci) if TOX_COMMAND.search(c)]
    if ci == "github":
        groups = job["strategy"]["matrix"]["group"]
        # The matrix value reaches the script through the environment, never expanded inside it.
        step = next(s for s in job["steps"] if TOX_COMMAND.search(s.get("run", "")))
        assert step["env"]["GROUP"] == "${{ matrix.group }}"
        assert '--group "$GROUP"' in command
        assert f"--splits {len(groups)} " in command
    else:
        groups = list(range(1, job["parallel"] + 1))
        assert "--splits $CI_NODE_TOTAL --group $CI_NODE_INDEX" in command
    assert groups == [1, 2]
    extras = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert "pytest-split" in helpers.requirement_names(
        extras["optional-dependencies"]["integration"]
    )


def junit_cases(report: Path) -> list[str]:
    return [
        f"{case.get('classname')}::{case.get('name')}"
        for case in ET.parse(report).getroot().iter("testcase")
    ]


def test_ci_files_split_unit_layer_runs_every_test_once(baked: Baked, tmp_path: Path) -> None:
    """The bake's unit layer, run whole and then as group 1 and 2 of 2 (pytest-split, as the CI
    files split the integration layer): the groups together ran every test of the layer once."""
    project = baked(answers_for("github"))
    env = helpers.clean_env(PYTHONPATH=str(project / "src"))

    def run_unit(name: str, *args: str) -> list[str]:
        report = tmp_path / f"{name}.xml"
        command = helpers.python(
            "-m", "pytest", "tests/unit", "-p", "no:cacheprovider", f"--junitxml={report}", *args
        )
        helpers.assert_tests_passed(helpers.run(command, cwd=project, env=env), f"unit {name}")
        return junit_cases(report)

    whole = run_unit("whole")
    # The groups share a seed, as the CI files give them, so that they split one random order.
    same_order = ("-p", "randomly", "--randomly-seed=1234")
    groups = [
        run_unit(f"group{g}", "--splits", "2", "--group", str(g), *same_order) for g in (1, 2)
    ]
    assert all(groups), "each group runs some of the layer"
    ran = groups[0] + groups[1]
    assert len(ran) == len(set(ran)), "a test ran in both groups"
    assert sorted(ran) == sorted(whole)
    assert len(whole) > 10


def test_ci_files_split_integration_layer_collects_every_test_once(baked: Baked) -> None:
    """The layer the CI files split: its two groups, as collected (no Docker needed), partition it."""
    project = baked(answers_for("github"))
    env = helpers.clean_env(PYTHONPATH=str(project / "src"))

    def collected(*args: str) -> list[str]:
        command = helpers.python(
            "-m",
            "pytest",
            "tests/integration",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            *args,
        )
        ran = helpers.run(command, cwd=project, env=env, timeout=120)
        assert ran.returncode == 0, ran.output
        return [line for line in ran.stdout.splitlines() if "::" in line]

    whole = collected()
    same_order = ("-p", "randomly", "--randomly-seed=1234")
    groups = [collected("--splits", "2", "--group", str(g), *same_order) for g in (1, 2)]
    assert all(groups)
    assert sorted(groups[0] + groups[1]) == sorted(whole)
    assert not set(groups[0]) & set(groups[1])
    assert len(whole) > 10


# Binaries in wheels: beside this interpreter, as pip installs them.
ZIZMOR = str(Path(sys.executable).with_name("zizmor"))
ACTIONLINT = str(Path(sys.executable).with_name("actionlint"))


def zizmor(project: Path, *args: str) -> Counter[str]:
    """zizmor's findings on the bake's workflow, offline, by severity."""
    ran = helpers.run(
        [ZIZMOR, "--offline", "--format", "json", *args, CI_FILES["github"]],
        cwd=project,
        env=helpers.clean_env(),
    )
    assert ran.returncode in (0, 11, 12, 13, 14), ran.output  # 1x: findings, by worst severity
    findings = json.loads(ran.stdout)
    return Counter(finding["determinations"]["severity"].lower() for finding in findings)


def test_ci_files_github_passes_zizmor_and_actionlint(baked: Baked) -> None:
    """Pinned actions, no credentials left in checkouts, no expression inside a script, the
    broker's token only in its environment: zizmor's default persona finds nothing, its auditor
    nothing above informational; actionlint finds nothing."""
    project = baked(answers_for("github"))

    assert zizmor(project) == {}
    assert set(zizmor(project, "--persona", "auditor")) <= {"informational"}
    linted = helpers.run([ACTIONLINT, CI_FILES["github"]], cwd=project, env=helpers.clean_env())
    assert linted.returncode == 0, linted.output


# Each provider's dependency-update bot, and the schema check-jsonschema ships for its file.
UPDATE_BOTS = {
    "github": (".github/dependabot.yml", "vendor.dependabot"),
    "gitlab": ("renovate.json", "vendor.renovate"),
}


@pytest.mark.parametrize("ci", PROVIDERS)
def test_ci_files_a_dependency_bot_keeps_the_pins_fresh(baked: Baked, ci: str) -> None:
    project = baked(answers_for(ci))
    for provider, (relative, _schema) in UPDATE_BOTS.items():
        assert (project / relative).is_file() == (provider == ci), relative
    relative, schema = UPDATE_BOTS[ci]

    ran = check_jsonschema(schema, project / relative)

    assert ran.returncode == 0, ran.output
