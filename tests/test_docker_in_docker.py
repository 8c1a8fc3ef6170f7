"""A bake's Docker layers in the topology of a CI's Docker-in-Docker service (GitLab's
``docker:dind``, which a ci=gitlab bake's Docker jobs use): the tests run here, and the engine runs
in a container of its own, reached over TCP at that container's address. Two things differ from a
local engine, and each once broke a layer there while passing here:

- the ports the engine publishes are bound in the engine's container: its loopback is not ours;
- the engine runs ``ps`` for ``docker top`` on its own host, Alpine, whose BusyBox ``ps`` knows
  fewer columns than procps (``-o uid`` is an error 500).

The engine is the drop-in ``DIND_IMAGE`` (``.ci/images/dind``), BusyBox ``ps`` included. It is
started as GitLab starts the service (privileged), less the one capability (``CAP_SYS_RESOURCE``)
this machine's engine cannot grant, and with the host's cgroups writable, which ``--privileged``
would give (and /proc/sys, which it would make writable too, left alone)."""

from __future__ import annotations

import os
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import yaml
from testcontainers.core.container import DockerContainer

from tests import helpers

# The service alone (SQLite, nothing else): its image and its stack are what the two faults break.
SPEC = "sqlite+none+none+no"
ENGINE_PORT = 2375
READY_WITHIN_SECONDS = 60
# What the layers pull from the engine: the service's base image and testcontainers' reaper.
IMAGES = {"PYTHON_IMAGE": "PYTHON_IMAGE", "RYUK_CONTAINER_IMAGE": "RYUK_IMAGE"}


def image(variable: str) -> str:
    name = os.environ.get(variable)
    if not name:
        pytest.fail(f"{variable} is not set (`.ci/build-images` exports it)", pytrace=False)
    return name


@pytest.fixture
def project(tmp_path: Path, cookiecutter_config: Path) -> Path:
    """The bake, with the GitLab pipeline whose Docker service the engine below is started as."""
    answers = {**helpers.combo(SPEC), "ci": "gitlab"}
    return helpers.bake(answers, tmp_path / "out", cookiecutter_config)


def service_command(project: Path) -> list[str]:
    """The arguments the pipeline's Docker jobs give their ``docker:dind`` service."""
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    (service,) = pipeline[".docker"]["services"]
    command: list[str] = service["command"]
    return command


@pytest.fixture
def engine(project: Path, tmp_path: Path, docker_alone: None) -> Iterator[str]:
    """A Docker-in-Docker engine started with the pipeline's arguments, its images loaded from
    this machine's engine (no registry is reachable here): yields its address. Removed with its
    storage afterwards."""
    name = f"dind-{uuid.uuid4().hex[:8]}"
    container = (
        DockerContainer(image("DIND_IMAGE"))
        .with_name(name)
        # Its own cgroup parent: the host's cgroups are shared with this machine's engine.
        .with_command([*service_command(project), f"--cgroup-parent=/{name}"])
        .with_volume_mapping("/sys/fs/cgroup", "/sys/fs/cgroup", "rw")
        # /proc/sys stays read-only without --privileged, where dockerd turns IPv6 off on each
        # container's interface; this tells it to go on regardless.
        .with_env("DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE", "1")
        .with_kwargs(
            cap_add=["ALL"],
            cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        )
    )
    with container:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        address = wrapped.attrs["NetworkSettings"]["IPAddress"]
        nested = connected(f"tcp://{address}:{ENGINE_PORT}")
        try:
            for variable in IMAGES.values():
                load(image(variable), nested, tmp_path)
            yield address
        finally:
            nested.close()


def connected(url: str) -> docker.DockerClient:
    """A client of the engine at ``url`` once it answers (the client asks for the engine's API
    version as it is made)."""
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while True:
        try:
            return docker.DockerClient(base_url=url, timeout=120)
        except docker.errors.DockerException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def load(name: str, into: docker.DockerClient, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    with archive.open("wb") as out:
        for chunk in docker.from_env().images.get(name).save(named=True):
            out.write(chunk)
    with archive.open("rb") as saved:
        into.images.load(saved.read())
    archive.unlink()


def passed_tests(report: Path) -> set[str]:
    """``module.test_name`` of every test the JUnit report shows passed."""
    passed = set()
    for case in ET.parse(report).getroot().iter("testcase"):
        if not any(child.tag in {"failure", "error", "skipped"} for child in case):
            passed.add(f"{case.get('classname', '').rsplit('.', 1)[-1]}.{case.get('name')}")
    return passed


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.xdist_group("docker")  # one container layer at a time (see docker_alone)
def test_docker_in_docker_integration_and_e2e_layers_pass(
    engine: str, project: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.xml"
    env = helpers.clean_env(
        # As the ci=gitlab bake's jobs set them, with the service's address for its name.
        DOCKER_HOST=f"tcp://{engine}:{ENGINE_PORT}",
        TESTCONTAINERS_HOST_OVERRIDE=engine,
        REQUIRE_DOCKER="1",
        PYTHONPATH=str(project / "src"),
        **{variable: image(source) for variable, source in IMAGES.items()},
    )
    env.pop("DOCKER_CONTEXT", None)

    ran = helpers.run(
        helpers.python("-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
                       f"--junitxml={report}", "tests/integration", "tests/e2e"),
        cwd=project,
        env=env,
        timeout=900,
    )  # fmt: skip

    counts = helpers.assert_tests_passed(ran, "the integration and e2e layers, Docker-in-Docker")
    assert counts.get("skipped", 0) == 0, ran.output
    passed = passed_tests(report)
    # The process list the engine reports (BusyBox ps), and the stack reached where it publishes.
    assert "test_image.test_the_service_image_runs_and_answers_healthz" in passed, ran.output
    assert any(test.startswith("test_service.") for test in passed), ran.output
