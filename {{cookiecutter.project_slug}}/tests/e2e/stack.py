"""The whole stack, as ``compose.yaml`` describes it, under test: started once per session with
testcontainers' ``DockerCompose`` (``docker compose up --build --wait``), torn down with its
volumes after a pass, a failure or an interruption.

The stack is the project's own compose file plus an override made here (never a second copy of
the stack): every port published on 127.0.0.1 only, on a port the engine picks; testcontainers'
session label on every container, network and volume, so that Ryuk removes what a killed run
left; and shorter timeouts, so that a failure scenario costs seconds. A unique project name
(``COMPOSE_PROJECT_NAME``) keeps runs apart.

Faults are injected from outside, with the Docker CLI: pause (a frozen process: connections are
accepted, nothing answers), stop and start, and disconnecting a container from the stack's network.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testcontainers.compose import DockerCompose
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = "compose.yaml"
APP = "app"
APP_PORT = 8000
# Every request answers within this, whatever a dependency does: the service's promise.
BOUND_SECONDS = 5.0
# The part of the override every stack gets; each dependency's module adds its own.
SHARED_OVERRIDE: dict[str, Any] = {
    "services": {
        APP: {
            "environment": {"FLASK_READINESS_TIMEOUT_SECONDS": "1"},
            "healthcheck": {"interval": "1s"},
        }
    }
}

Override = dict[str, Any]
# A SQL query run inside the stack's database service: its rows, each a list of column texts.
Query = Callable[[str], list[list[str]]]


def merged(*parts: Override) -> Override:
    """The parts merged key by key (mappings recursively; anything else: the last one wins)."""
    result: Override = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merged(result[key], value)
            else:
                result[key] = value
    return result


def loopback_port() -> int:
    """A port free on 127.0.0.1 now. Published ports are chosen here rather than by the engine,
    which would pick a new one each time a container restarts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def docker(*args: str, timeout: float = 60) -> str:
    ran = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if ran.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {ran.stderr.strip()}")
    return ran.stdout


@dataclass
class Stack:
    """The running stack: where its services answer, and the faults to inject into them."""

    compose: DockerCompose
    project: str
    config: dict[str, Any]
    ports: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port(APP, APP_PORT)}"

    def services(self) -> list[str]:
        return sorted(self.config["services"])

    def environment(self, service: str) -> dict[str, str]:
        found: dict[str, str] = self.config["services"][service].get("environment") or {}
        return found

    def port(self, service: str, port: int) -> int:
        """The host port (on 127.0.0.1) a service's port is published on."""
        if (service, port) not in self.ports:
            published = self.compose.get_service_port(service, port)
            assert published is not None, f"{service}:{port} is not published"
            self.ports[(service, port)] = int(published)
        return self.ports[(service, port)]

    def container(self, service: str) -> str:
        return docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
                      "--filter", f"label=com.docker.compose.service={service}").split()[0]  # fmt: skip

    def exec(self, service: str, *command: str) -> str:
        return docker("exec", self.container(service), *command)

    def network(self) -> str:
        return f"{self.project}_default"

    # Faults, each undone by its context manager whatever happens inside.

    @contextlib.contextmanager
    def paused(self, service: str) -> Iterator[None]:
        docker("pause", self.container(service))
        try:
            yield
        finally:
            docker("unpause", self.container(service))

    @contextlib.contextmanager
    def stopped(self, service: str) -> Iterator[None]:
        docker("stop", "--time", "2", self.container(service))
        try:
            yield
        finally:
            self.start(service)

    @contextlib.contextmanager
    def disconnected(self, service: str) -> Iterator[None]:
        container = self.container(service)
        docker("network", "disconnect", self.network(), container)
        try:
            yield
        finally:
            # Back under its service name, which the others resolve it by.
            docker("network", "connect", "--alias", service, self.network(), container)

    def start(self, service: str) -> None:
        docker("start", self.container(service))
        self.wait_healthy(service)

    def kill(self, service: str) -> None:
        docker("kill", "--signal", "KILL", self.container(service))

    def restart(self, service: str) -> None:
        docker("restart", "--time", "10", self.container(service))
        self.wait_healthy(service)

    def recreate(self, service: str) -> None:
        """A new container for the service, as a new release would get (its volumes kept)."""
        subprocess.run(
            [*self.compose.docker_compose_command(), "up", "--detach", "--wait", "--no-deps",
             "--force-recreate", service],
            cwd=PROJECT, capture_output=True, timeout=120, check=True,
        )  # fmt: skip

    def wait_healthy(self, service: str, timeout: float = 60) -> None:
        container = self.container(service)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = json.loads(docker("inspect", container))[0]["State"]
            health = (state.get("Health") or {}).get("Status")
            if state["Running"] and health in (None, "healthy"):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{service} is not healthy after {timeout:g} s")


def compose_config(environment: dict[str, str]) -> dict[str, Any]:
    """The project's compose file as compose resolves it (anchors, variables)."""
    ran = subprocess.run(
        ["docker", "compose", "-f", COMPOSE_FILE, "config", "--format", "json"],
        cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    config: dict[str, Any] = json.loads(ran.stdout)
    return config


def session_override(config: dict[str, Any], parts: list[Override]) -> Override:
    """What the tests change: the session label on everything, loopback ports, short timeouts."""
    labels = {LABEL_SESSION_ID: SESSION_ID}
    labelled: Override = {
        "services": {name: {"labels": labels} for name in config["services"]},
        "networks": {"default": {"labels": labels}},
        "volumes": {name: {"labels": labels} for name in config.get("volumes") or {}},
    }
    return merged(labelled, SHARED_OVERRIDE, *parts)


def start_reaper() -> None:
    """Ryuk, watching this session's label (unless disabled): it removes the stack if this
    process dies without taking it down."""
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import Reaper

    if not testcontainers_config.ryuk_disabled:
        Reaper.get_instance()


def project_name() -> str:
    """Unique per run: from ``TEST_RUN_ID`` when a caller wants to find what the run made."""
    given = re.sub(r"[^a-z0-9_-]", "-", os.environ.get("TEST_RUN_ID", "").lower())
    return f"e2e-{given or uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def running(parts: list[Override], workdir: Path) -> Iterator[Stack]:
    """The stack up (built, healthy) for the length of the block; then down, with its volumes
    and any orphan, whatever happened."""
    project = project_name()
    environment = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        "APP_PORT": f"127.0.0.1:{loopback_port()}",
    }
    config = compose_config(environment)
    override = workdir / "compose.e2e.json"  # JSON is YAML: compose reads it as an override
    override.write_text(json.dumps(session_override(config, parts), indent=2))
    start_reaper()
    saved = os.environ.copy()
    os.environ.update(environment)  # DockerCompose runs compose with this process's environment
    compose = DockerCompose(
        context=PROJECT, compose_file_name=[COMPOSE_FILE, str(override)], build=True, wait=True
    )
    try:
        with compose:
            yield Stack(compose, project, config)
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(
                [*compose.docker_compose_command(), "down", "--volumes", "--remove-orphans"],
                cwd=PROJECT, capture_output=True, timeout=120, check=False,
            )  # fmt: skip
        os.environ.clear()
        os.environ.update(saved)
