"""The service's own image: built from the overridable base (``PYTHON_IMAGE``, the build argument
compose passes too), its container runs the service and answers ``/healthz``."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

from testcontainers.core.container import DockerContainer

from tests.fixtures.images import PROJECT, defaults
from tests.fixtures.service import PORT

# Several probes at the half-second interval the fixture sets, and room for a loaded machine.
HEALTHY_WITHIN_SECONDS = 10


def test_the_dockerfile_and_compose_name_the_same_default_base() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8")

    declared = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)

    assert declared is not None
    assert declared[1] == defaults()["PYTHON_IMAGE"]


def test_the_service_image_runs_and_answers_healthz(service_in_image: DockerContainer) -> None:
    host, port = service_in_image.get_container_host_ip(), service_in_image.get_exposed_port(PORT)
    with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as response:
        status, body = response.status, json.loads(response.read())
    # The engine's process list (not an exec, whose attached stream a proxy between client and
    # engine can cut short): every process of the container and its user. The engine runs `ps` on
    # its own host, so only columns BusyBox's `ps` knows too (docker:dind is Alpine): `user` is
    # the number when the host has no name for it, as for the image's 10001.
    listed = service_in_image.get_wrapped_container().top(ps_args="-o pid,user")
    user = listed["Titles"].index("USER")
    users = {row[user] for row in listed["Processes"]}

    assert (status, body) == (200, {"status": "ok"})
    assert users == {"10001"}  # not root


def test_the_image_reports_itself_healthy(service_in_image: DockerContainer) -> None:
    # What an orchestrator reads: the state of the image's own HEALTHCHECK (a probe of a path
    # the service does not have leaves it starting, then unhealthy).
    container = service_in_image.get_wrapped_container()
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while (status := health(container)) != "healthy" and time.monotonic() < deadline:
        time.sleep(0.2)

    assert status == "healthy", container.attrs["State"].get("Health")


def health(container: Any) -> str | None:
    container.reload()
    found: str | None = (container.attrs["State"].get("Health") or {}).get("Status")
    return found
