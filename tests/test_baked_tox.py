"""A sample of bakes runs its own tox environments, as a person who baked it would: each in its own
virtualenvs, installed from the bake's pyproject.toml. ``slow``: lint, type and unit (no Docker).
``docker``: the integration layer against real dependencies in containers, and the e2e layer
against the whole compose stack."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from filelock import FileLock

from tests import helpers

FAST_SAMPLE = [
    "postgresql+redis+rabbitmq+yes",  # all in
    "sqlite+none+none+no",  # all out
    "mariadb+redis+none+no",
    "sqlite+none+rabbitmq+yes",
    "postgresql+none+rabbitmq+no",
]
INTEGRATION_SAMPLE = [
    "postgresql+redis+rabbitmq+yes",
    "mariadb+redis+none+no",
    "sqlite+none+rabbitmq+yes",
]
E2E_SAMPLE = [
    "postgresql+redis+rabbitmq+yes",  # all in
    "sqlite+none+none+no",  # all out
    "mariadb+redis+none+no",
]


def bake_alone(spec: str, tmp_path: Path, cookiecutter_config: Path) -> Path:
    """A bake of its own: tox leaves virtualenvs in it, which no other test should see."""
    return helpers.bake(helpers.combo(spec), tmp_path / "out", cookiecutter_config)


def tox(project: Path, *args: str, **env: str) -> helpers.Ran:
    return helpers.run(
        helpers.python("-m", "tox", *args), cwd=project, env=helpers.clean_env(**env), timeout=1500
    )


@pytest.mark.slow
@pytest.mark.parametrize("spec", FAST_SAMPLE)
def test_baked_fast_environments_pass(spec: str, tmp_path: Path, cookiecutter_config: Path) -> None:
    project = bake_alone(spec, tmp_path, cookiecutter_config)
    ran = tox(project, "-m", "fast")
    assert ran.returncode == 0, ran.output
    for env in ("lint", "type", "unit"):
        assert re.search(rf"^\s*{env}: OK", ran.stdout, re.MULTILINE), (
            f"{env} did not run\n{ran.output}"
        )
    # The unit layer's own closing line: tests ran, none skipped.
    counts = helpers.assert_tests_passed(ran, "baked tox -e unit")
    assert counts.get("skipped", 0) == 0, ran.output


# The integration layer labels everything it starts with its run id (TEST_RUN_ID), so that a run can
# check that nothing it started is left.
RUN_LABEL = "orders_service.tests.run"


@contextmanager
def containers_created(label: str) -> Iterator[set[str]]:
    """The ids of the containers created with ``label`` while the block runs (Docker's event stream,
    so that a container created and left, or created and removed, is seen either way)."""
    import docker

    client = docker.from_env()
    stream = client.events(
        decode=True, filters={"type": "container", "event": "create", "label": label}
    )
    created: set[str] = set()

    def collect() -> None:
        with suppress(Exception):  # the stream ends with an error when it is closed
            for event in stream:
                created.add(event["id"])

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    try:
        yield created
    finally:
        time.sleep(1)  # the last events on their way
        stream.close()
        collector.join(timeout=10)
        client.close()


def left_behind(label: str) -> dict[str, list[str]]:
    import docker

    client = docker.from_env()
    try:
        found = {
            "containers": [
                c["Names"][0] for c in client.api.containers(all=True, filters={"label": label})
            ],
            "networks": [n["Name"] for n in client.api.networks(filters={"label": label})],
            "volumes": [
                v["Name"] for v in client.api.volumes(filters={"label": label}).get("Volumes") or []
            ],
        }
    finally:
        client.close()
    return {kind: names for kind, names in found.items() if names}


@pytest.fixture
def docker_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One container layer at a time across the test processes: each starts several containers and
    builds an image, on two cores. (``xdist_group`` says the same to the scheduler, but pytest-xdist's
    loadgroup has broken before: pytest-xdist#1386.)"""
    with FileLock(tmp_path_factory.getbasetemp().parent / "docker-layer.lock"):
        yield


@pytest.mark.docker
@pytest.mark.xdist_group("docker")  # all on one process, one at a time (see docker_alone)
@pytest.mark.parametrize("spec", INTEGRATION_SAMPLE)
def test_baked_integration_layer_passes(
    spec: str, tmp_path: Path, cookiecutter_config: Path
) -> None:
    project = bake_alone(spec, tmp_path, cookiecutter_config)
    run_id = f"template-{uuid.uuid4().hex[:12]}"
    label = f"{RUN_LABEL}={run_id}"
    with containers_created(label) as created:
        # Docker answered (the docker marker checked): nothing in the layer may skip for want of it.
        ran = tox(project, "-e", "integration", REQUIRE_DOCKER="1", TEST_RUN_ID=run_id)
    counts = helpers.assert_tests_passed(ran, "baked tox -e integration")
    assert counts.get("skipped", 0) == 0, ran.output
    assert created, (
        f"no container was created with the label {label}: is the run id still {RUN_LABEL}?"
    )
    assert left_behind(label) == {}, f"left behind by the integration layer ({label})"


# The e2e layer names its compose project after the run id (``e2e-<TEST_RUN_ID>``).
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"


@pytest.mark.docker
@pytest.mark.xdist_group("docker")  # all on one process, one at a time (see docker_alone)
@pytest.mark.parametrize("spec", E2E_SAMPLE)
def test_baked_e2e_layer_passes(
    spec: str, tmp_path: Path, cookiecutter_config: Path, docker_alone: None
) -> None:
    project = bake_alone(spec, tmp_path, cookiecutter_config)
    run_id = f"template-{uuid.uuid4().hex[:12]}"
    label = f"{COMPOSE_PROJECT_LABEL}=e2e-{run_id}"
    with containers_created(label) as created:
        ran = tox(project, "-e", "e2e", REQUIRE_DOCKER="1", TEST_RUN_ID=run_id)
    counts = helpers.assert_tests_passed(ran, "baked tox -e e2e")
    assert counts.get("skipped", 0) == 0, ran.output
    assert created, f"no container was created with the label {label}"
    assert left_behind(label) == {}, f"left behind by the e2e layer ({label})"


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
    n = len(INTEGRATION_SAMPLE) + len(E2E_SAMPLE)
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
