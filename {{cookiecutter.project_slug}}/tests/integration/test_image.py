"""The service's own image: built from the overridable base (``PYTHON_IMAGE``, the build argument
compose passes too), its container runs the service and answers ``/healthz``."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from tests.fixtures import docker
from tests.fixtures.images import PROJECT, defaults, image

TAG = "{{ cookiecutter.project_slug }}:integration-test"
PORT = 8000


def test_the_dockerfile_and_compose_name_the_same_default_base() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8")

    declared = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)

    assert declared is not None
    assert declared[1] == defaults()["PYTHON_IMAGE"]


@pytest.fixture(scope="module")
def service_image(docker_engine: Any) -> str:
    """The id of the image built from the project's Dockerfile on ``PYTHON_IMAGE``. It is kept
    (tagged ``TAG``) so that the next build reuses its layers; intermediate containers are
    removed. The id, not the tag, is run: a concurrent run of another checkout may move the tag."""
    began = time.perf_counter()
    built, _log = docker_engine.images.build(
        path=str(PROJECT),
        tag=TAG,
        buildargs={"PYTHON_IMAGE": image("PYTHON_IMAGE")},
        labels={docker.LABEL: "integration"},
        rm=True,
        forcerm=True,
    )
    docker.READY_SECONDS["service image build"] = time.perf_counter() - began
    image_id: str = built.id
    return image_id


def test_the_service_image_runs_and_answers_healthz(service_image: str) -> None:
    def service() -> DockerContainer:
        return (
            DockerContainer(service_image)
            .with_exposed_ports(PORT)
            # Nothing else runs here: the stand-ins are asked for explicitly, as the production
            # entry point refuses to start without its dependencies otherwise.
            .with_env("FLASK_EMBEDDED_DEFAULTS", "true")
            .waiting_for(HttpWaitStrategy(PORT, "/healthz").for_status_code(200))
        )

    with docker.throwaway(service) as running:
        url = f"http://{running.get_container_host_ip()}:{running.get_exposed_port(PORT)}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            status, body = response.status, json.loads(response.read())
        # The engine's process list (not an exec, whose attached stream a proxy between client and
        # engine can cut short): every process of the container, by numeric user id.
        listed = running.get_wrapped_container().top(ps_args="-o pid,uid")
        uid = listed["Titles"].index("UID")
        users = {row[uid] for row in listed["Processes"]}

    assert (status, body) == (200, {"status": "ok"})
    assert users == {"10001"}  # not root
