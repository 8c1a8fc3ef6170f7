"""The stack of ``compose.yaml``, up once per session (testcontainers' ``DockerCompose``, built and
healthy) and down with its volumes. What the tests change is in override files, never in a second
copy of the stack: two replicas of the service, as production runs several; ports on loopback;
short timeouts, so that a failure costs seconds; the session label, so that Ryuk removes what a
killed run left; credentials made for the run. Faults go through docker-py, to a service's first
replica."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from docker.errors import APIError
from testcontainers.compose import DockerCompose

from tests.support import docker

PROJECT = Path(__file__).resolve().parents[2]
APP = "app"
APP_REPLICAS = 2
# Every request answers within this, whatever a dependency does: the service's promise.
BOUND_SECONDS = 5.0
# /readyz answers within this (FLASK_READINESS_TIMEOUT_SECONDS), whatever a dependency does.
READINESS_SECONDS = 0.5
# How long a service may take to be healthy again, or a one-off container to run.
START_SECONDS = 120
# What an override file changes, by compose service.
Override = dict[str, Any]
# The compose profiles the layer starts besides the default services.
PROFILES: list[str] = [
    # one line each
    {%- if cookiecutter.observability == "otel" %}
    "telemetry",{% endif %}
]
SHARED_OVERRIDE: Override = {
    APP: {
        "environment": {"FLASK_READINESS_TIMEOUT_SECONDS": str(READINESS_SECONDS)},
        "healthcheck": {"interval": "1s"},
        "deploy": {"replicas": APP_REPLICAS},
    }
}
# A variable compose.yaml requires (``${NAME:?...}``): a credential.
REQUIRED_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?")

# A SQL query run inside the stack's database service: its rows, each a list of column texts.
Query = Callable[[str], list[list[str]]]


def free_ports(count: int) -> range:
    """``count`` consecutive ports free on 127.0.0.1 now. Chosen here, not by the engine, which
    would publish a restarted container on another port."""
    for _ in range(50):
        with contextlib.ExitStack() as held, contextlib.suppress(OSError):
            probes = [held.enter_context(socket.socket()) for _ in range(count)]
            probes[0].bind(("127.0.0.1", 0))
            first = probes[0].getsockname()[1]
            for offset, probe in enumerate(probes[1:], 1):
                probe.bind(("127.0.0.1", first + offset))
            return range(first, first + count)
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


@dataclass(frozen=True)
class Stack:
    compose: DockerCompose
    project: str
    config: dict[str, Any]  # as compose reads it, the overrides merged
    urls: list[str]  # the service's replicas

    def port(self, service: str, target: int) -> int:
        ports = self.config["services"][service]["ports"]
        return next(int(port["published"]) for port in ports if port["target"] == target)

    def replicas(self, service: str) -> list[Any]:
        """docker-py's containers of the service, running or not, in compose's order (asked of the
        engine: compose's own ``ps`` takes a second on a busy machine)."""
        labels = {"project": self.project, "service": service}
        selector = [f"com.docker.compose.{name}={value}" for name, value in labels.items()]
        found = docker.client().containers.list(all=True, filters={"label": selector})
        return sorted(found, key=lambda c: int(c.labels["com.docker.compose.container-number"]))

    def container(self, service: str) -> Any:
        return self.replicas(service)[0]

    def rows(self, service: str, *command: str) -> list[list[str]]:
        """What a command run in the service's container prints, each line split at tabs."""
        stdout, _, _ = self.compose.exec_in_container(list(command), service)
        return [line.split("\t") for line in stdout.splitlines() if line]

    def cli(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        command = [*self.compose.docker_compose_command(), *arguments]
        return subprocess.run(
            command, cwd=PROJECT, capture_output=True, text=True, timeout=START_SECONDS, check=False
        )

    def start(self, service: str) -> None:
        """Starts the replicas of the service that are not running; returns once all are healthy."""
        replicas = self.replicas(service)
        for replica in replicas:
            replica.start()
        eventually(lambda: all(healthy(replica) for replica in replicas), START_SECONDS, 0.2)

    def run_once(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """``docker compose run --rm ARGUMENTS``, as a user of the stack runs a one-off container."""
        name = f"{self.project}-once-{uuid.uuid4().hex[:8]}"
        try:
            return self.cli("run", "--rm", "--no-deps", "-T", "--name", name, *arguments)
        finally:  # gone already, unless the CLI outlasted its timeout: the container runs on
            subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=30)

    @contextlib.contextmanager
    def fault(self, service: str, kind: str) -> Iterator[None]:
        """The service's first replica ``paused`` (frozen: connections are accepted, nothing
        answers), ``stopped``, or ``disconnected`` from the stack's network, for the block."""
        container = self.container(service)
        with contextlib.ExitStack() as undo:
            if kind == "paused":
                undo.enter_context(frozen([container]))
            elif kind == "stopped":
                container.stop(timeout=2)
                undo.callback(self.start, service)
            else:
                assert kind == "disconnected", kind
                network = docker.client().networks.get(f"{self.project}_default")
                network.disconnect(container)
                # Back under its service name, which the others resolve it by.
                undo.callback(network.connect, container, aliases=[service])
            yield


def healthy(container: Any) -> bool:
    container.reload()
    state = container.attrs["State"]
    return bool(state["Running"]) and state.get("Health", {}).get("Status") in (None, "healthy")


def eventually(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
    """Returns once ``check`` holds; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:g} s"
        time.sleep(interval)


@contextlib.contextmanager
def frozen(containers: list[Any]) -> Iterator[None]:
    """The containers paused for the block; after it, those still paused carry on."""
    for container in containers:
        # The engine refuses now and then ("unable to freeze") while a process is being started
        # in the container (a health check's): it is asked again.
        for _ in range(9):
            with contextlib.suppress(APIError):
                container.pause()
                break
            time.sleep(0.1)
        else:
            container.pause()
    try:
        yield
    finally:
        for container in containers:
            container.reload()
            if container.attrs["State"]["Paused"]:
                container.unpause()


@contextlib.contextmanager
def running(parts: list[Override], workdir: Path) -> Iterator[Stack]:
    """The stack up for the length of the block; then down, with its volumes."""
    project, ports = f"e2e-{uuid.uuid4().hex[:12]}", free_ports(APP_REPLICAS)
    required = REQUIRED_VARIABLE.findall((PROJECT / "compose.yaml").read_text(encoding="utf-8"))
    # Letters and digits: they go into URLs. The environment's own, if it sets one, is kept.
    settings = {name: secrets.token_hex(16) for name in set(required) - set(os.environ)}
    published = f"{docker.publish_address()}:{ports[0]}-{ports[-1]}"
    settings.update(COMPOSE_PROJECT_NAME=project, APP_PORT=published)
    with mock.patch.dict(os.environ, settings):  # DockerCompose runs compose with it
        config = DockerCompose(PROJECT, "compose.yaml", profiles=PROFILES).get_config()
        labels = {"labels": docker.session_labels()}
        labelled = {
            "services": dict.fromkeys(config["services"], labels),
            "networks": {"default": labels},
            "volumes": dict.fromkeys(config.get("volumes") or {}, labels),
        }
        files = ["compose.yaml"]
        services = [{"services": part} for part in [SHARED_OVERRIDE, *parts]]
        for number, part in enumerate([labelled, *services]):
            (file := workdir / f"override-{number}.json").write_text(json.dumps(part), "utf-8")
            files.append(str(file))  # JSON is YAML: compose reads each as an override, in order
        docker.ensure_reaper()
        with DockerCompose(PROJECT, files, build=True, wait=True, profiles=PROFILES) as compose:
            urls = [f"http://{docker.engine_host()}:{port}" for port in ports]
            yield Stack(compose, project, compose.get_config(), urls)
