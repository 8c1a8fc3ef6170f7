"""The service's own image: built from the overridable base (``PYTHON_IMAGE``, the build argument
compose passes too), its container runs the service and answers ``/healthz``."""

from __future__ import annotations

import json
import re
import urllib.request

from testcontainers.core.container import DockerContainer

from tests.fixtures.images import PROJECT, defaults
from tests.fixtures.service import PORT


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
    # engine can cut short): every process of the container, by numeric user id.
    listed = service_in_image.get_wrapped_container().top(ps_args="-o pid,uid")
    uid = listed["Titles"].index("UID")
    users = {row[uid] for row in listed["Processes"]}

    assert (status, body) == (200, {"status": "ok"})
    assert users == {"10001"}  # not root
