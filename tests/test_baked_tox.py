"""A sample of bakes runs its own tox environments, as a person who baked it would: each in its own
virtualenvs, installed from the bake's pyproject.toml. ``slow``: lint, type, unit and contract (no
Docker), the contract layer's pacts checked by name and interaction. ``docker``: the integration
layer against real dependencies in containers, and the e2e layer against the whole compose stack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import helpers
from tests.layers import (
    SESSION_LABEL,
    bake_alone,
    docker_created,
    expected_pacts,
    of_sessions,
    record_sessions,
    sessions_of,
    still_there,
    tox,
    written_pacts,
)

# Every bake's ruff, mypy and unit layer run in test_bake_matrix.py; these run a bake's own tox, the
# contract layer included: with nothing here, and with everything as the jobs of its GitHub workflow
# (test_act.py: the same environments, run by act; each pact is a file of its own dependency, so the
# two cover each one present and absent). A MariaDB bake runs the same environments, its Docker layers
# among them, as its GitLab pipeline's jobs (test_gitlab_ci_local.py), and the all-in bake's coverage
# is its workflow's coverage job.
FAST_SAMPLE = [
    "sqlite+none+none+no",  # all out
]
# The all-in bake's e2e layer runs as its GitHub workflow's e2e job (test_act.py), the MariaDB bake's
# as its GitLab pipeline's (beside a Docker-in-Docker service).
E2E_SAMPLE = [
    "sqlite+none+none+no",  # all out
]


def pytest_closing_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(r"=+ .*\bin [\d.]+s\b", line)]


@pytest.mark.slow
@pytest.mark.parametrize("spec", FAST_SAMPLE)
def test_baked_fast_environments_pass(spec: str, tmp_path: Path, cookiecutter_config: Path) -> None:
    project = bake_alone(spec, tmp_path, cookiecutter_config)
    ran = tox(project, "-m", "fast")
    assert ran.returncode == 0, ran.output
    for env in ("lint", "type", "unit", "contract"):
        assert re.search(rf"^\s*{env}: OK", ran.stdout, re.MULTILINE), (
            f"{env} did not run\n{ran.output}"
        )
    # The unit and contract layers' own closing lines: tests ran, none skipped.
    closing = pytest_closing_lines(ran.stdout)
    assert len(closing) == 2, ran.output
    for line in closing:
        counts = helpers.pytest_counts(line)
        assert counts.get("passed", 0) > 0, line
        assert counts.get("skipped", 0) == 0, line
    # The contract layer wrote the pacts of the dependencies the bake has, and only those.
    answers = helpers.combo(spec)
    slug = json.loads((project / ".cookiecutter.json").read_text())["project_slug"]
    assert written_pacts(project) == expected_pacts(answers, slug), ran.output
    assert "schemathesis cases:" in ran.stdout, ran.output


# Each Docker layer with the bakes it runs for: (tox environment, combination).
DOCKER_RUNS = [("e2e", spec) for spec in E2E_SAMPLE]


@pytest.mark.docker
@pytest.mark.xdist_group("docker")  # all on one process, one at a time (see docker_alone)
@pytest.mark.parametrize(("layer", "spec"), DOCKER_RUNS, ids=lambda value: str(value))
def test_baked_docker_layer_passes_and_leaves_nothing(
    layer: str, spec: str, tmp_path: Path, cookiecutter_config: Path, docker_alone: None
) -> None:
    project = bake_alone(spec, tmp_path, cookiecutter_config)
    record_sessions(project)
    with docker_created() as created:
        # Docker answered (the docker marker checked): nothing in the layer may skip for want of it.
        ran = tox(project, "-e", layer, REQUIRE_DOCKER="1")
    counts = helpers.assert_tests_passed(ran, f"baked tox -e {layer}")
    assert counts.get("skipped", 0) == 0, ran.output
    # What the layer started carries the run's testcontainers session label (the e2e layer's
    # compose services too), as Ryuk needs; none of it may outlive the run.
    ours = of_sessions(created, sessions_of(project))
    assert ours["container"], f"no container was created with the label {SESSION_LABEL}"
    assert still_there(ours) == {}, f"left behind by the {layer} layer"


@pytest.mark.parametrize("require", ["", "1"], ids=["skips-without-docker", "fails-when-required"])
def test_docker_gate(require: str) -> None:
    """Without an engine the container tests skip with one reason; REQUIRE_DOCKER=1 fails them."""
    nowhere = "unix:///nonexistent/docker.sock"
    ran = helpers.run(
        helpers.python("-m", "pytest", "-rsE", "-m", "docker", "tests/test_baked_tox.py"),
        cwd=helpers.TEMPLATE,
        env=helpers.clean_env(DOCKER_HOST=nowhere, REQUIRE_DOCKER=require),
        timeout=120,
    )
    counts = helpers.pytest_counts(ran.stdout)
    n = len(DOCKER_RUNS)
    reason = f"no Docker engine answers at {nowhere}"
    if require:
        assert ran.returncode == 1, ran.output
        assert counts == {"deselected": counts.get("deselected", 0), "error": n}, ran.output
        assert ran.stdout.count(f"REQUIRE_DOCKER=1 but {reason}") >= n, ran.output
    else:
        assert ran.returncode == 0, ran.output
        assert counts == {"deselected": counts.get("deselected", 0), "skipped": n}, ran.output
        (line,) = [line for line in ran.stdout.splitlines() if line.startswith("SKIPPED")]
        assert f"SKIPPED [{n}]" in line, ran.output
        assert reason in line, ran.output
