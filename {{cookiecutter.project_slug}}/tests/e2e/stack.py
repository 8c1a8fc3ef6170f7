"""The whole stack, as ``compose.yaml`` describes it, under test: started once per session with
testcontainers' ``DockerCompose`` (``docker compose up --build --wait``), torn down with its
volumes after a pass, a failure or an interruption.

The stack is the project's own compose file plus an override made here (never a second copy of
the stack): every port published on 127.0.0.1 only (on the engine's host, when the engine is
elsewhere: ``tests.support.docker.publish_address``), on a port chosen here; two replicas of the
service, as production runs several behind a load balancer (each with its own connection pools
and circuits), which the tests take in turn; testcontainers' session label on every container,
network and volume, so that Ryuk removes what a killed run left; and shorter timeouts, so that a
failure scenario costs seconds. A unique project name (``COMPOSE_PROJECT_NAME``) keeps runs apart,
and every credential compose.yaml requires is made anew for the run.

Faults are injected from outside, through the engine's API (docker-py, as testcontainers uses
it): pause (a frozen process: connections are accepted, nothing answers), stop and start, kill,
disconnecting a container from the stack's network, and starving one of CPU (so that a scenario
can catch it in the middle of its work). A service's faults apply to its first replica. A one-off
container of a service (``docker compose run``) runs a command as a user of the stack would.
"""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import APIError
from testcontainers.compose import DockerCompose

from tests.support import docker

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = "compose.yaml"
APP = "app"
APP_PORT = 8000
APP_REPLICAS = 2
# A starved container gets this share of one CPU: its work takes about a hundred times as long.
STARVED_CPUS = 0.01
CPU_PERIOD_MICROSECONDS = 100_000
# Every request answers within this, whatever a dependency does: the service's promise.
BOUND_SECONDS = 5.0
# /readyz answers within this (FLASK_READINESS_TIMEOUT_SECONDS), whatever a dependency does.
READINESS_SECONDS = 1.0
# The part of the override every stack gets; each dependency's module adds its own.
SHARED_OVERRIDE: dict[str, Any] = {
    "services": {
        APP: {
            "environment": {"FLASK_READINESS_TIMEOUT_SECONDS": str(READINESS_SECONDS)},
            "healthcheck": {"interval": "1s"},
            "deploy": {"replicas": APP_REPLICAS},
        }
    }
}

# A variable compose.yaml requires (``${NAME:?...}``): the stack's credentials.
REQUIRED_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?")

Override = dict[str, Any]
# A SQL query run inside the stack's database service: its rows, each a list of column texts.
Query = Callable[[str], list[list[str]]]


@dataclass(frozen=True)
class Ran:
    """A one-off container's run: its exit code, what it printed and how long it took."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


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


def loopback_ports(count: int, attempts: int = 50) -> range:
    """``count`` consecutive ports free on 127.0.0.1 now: a range compose hands out to the
    replicas of a service, one each (a restarted replica gets back the one left free)."""
    for _ in range(attempts):
        first = loopback_port()
        ports = range(first, first + count)
        with contextlib.ExitStack() as held:
            try:
                for port in ports:
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
        return ports
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


@dataclass
class Stack:
    """The running stack: where its services answer, and the faults to inject into them (through
    the engine's API, on the container compose made for each service)."""

    compose: DockerCompose
    project: str
    config: dict[str, Any]
    ports: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        """The service's replicas, each on its published port."""
        return [
            f"http://{docker.engine_host()}:{replica.ports[f'{APP_PORT}/tcp'][0]['HostPort']}"
            for replica in self.replicas(APP)
        ]

    def environment(self, service: str) -> dict[str, str]:
        found: dict[str, str] = self.config["services"][service].get("environment") or {}
        return found

    def port(self, service: str, port: int) -> int:
        """The host port (on ``docker.engine_host()``) a service's port is published on."""
        if (service, port) not in self.ports:
            published = self.compose.get_service_port(service, port)
            assert published is not None, f"{service}:{port} is not published"
            self.ports[(service, port)] = int(published)
        return self.ports[(service, port)]

    def container(self, service: str) -> Any:
        """docker-py's container of the service (its first replica), running or not (untyped:
        Any)."""
        return docker.client().containers.get(self.compose.get_container(service, True).ID)

    def replicas(self, service: str) -> list[Any]:
        """docker-py's containers of the service, running or not, in compose's order."""
        found = docker.client().containers.list(
            all=True,
            filters={
                "label": [
                    f"com.docker.compose.project={self.project}",
                    f"com.docker.compose.service={service}",
                ]
            },
        )
        return sorted(found, key=lambda c: int(c.labels["com.docker.compose.container-number"]))

    def exec(self, service: str, *command: str) -> str:
        stdout, _stderr, _code = self.compose.exec_in_container(list(command), service)
        return stdout

    def health_check(self, service: str) -> int:
        """Runs the service's health check, as compose configures it, in its container once; its
        exit code (0: healthy)."""
        kind, *command = self.config["services"][service]["healthcheck"]["test"]
        argv = ["sh", "-c", *command] if kind == "CMD-SHELL" else command
        exit_code: int = self.container(service).exec_run(argv).exit_code
        return exit_code

    # Faults, each undone by its context manager whatever happens inside.

    def paused(self, service: str) -> contextlib.AbstractContextManager[None]:
        return frozen([self.container(service)])

    @contextlib.contextmanager
    def stopped(self, service: str) -> Iterator[None]:
        self.container(service).stop(timeout=2)
        try:
            yield
        finally:
            self.start(service)

    @contextlib.contextmanager
    def disconnected(self, service: str) -> Iterator[None]:
        container = self.container(service)
        network = docker.client().networks.get(f"{self.project}_default")
        network.disconnect(container)
        try:
            yield
        finally:
            # Back under its service name, which the others resolve it by.
            network.connect(container, aliases=[service])

    @contextlib.contextmanager
    def starved(self, container: Any) -> Iterator[None]:
        """The container given a hundredth of a CPU: what it does takes a hundred times as long."""
        container.update(
            cpu_period=CPU_PERIOD_MICROSECONDS,
            cpu_quota=int(CPU_PERIOD_MICROSECONDS * STARVED_CPUS),
        )
        try:
            yield
        finally:
            container.update(cpu_quota=-1)

    def start(self, service: str) -> None:
        self.container(service).start()
        self.wait_healthy(service)

    def kill(self, service: str) -> None:
        self.container(service).kill(signal="SIGKILL")

    def restart(self, service: str) -> None:
        self.container(service).restart(timeout=10)
        self.wait_healthy(service)

    def recreate(self, service: str) -> None:
        """A new container for the service, as a new release would get (its volumes kept)."""
        subprocess.run(
            [*self.compose.docker_compose_command(), "up", "--detach", "--wait", "--no-deps",
             "--force-recreate", service],
            cwd=PROJECT, capture_output=True, timeout=120, check=True,
        )  # fmt: skip

    def run_once(
        self,
        service: str,
        *command: str,
        environment: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Ran:
        """A one-off container of the service (``docker compose run --rm``, as a user of the stack
        runs one), its dependencies left as they are; ``command`` replaces the service's own unless
        empty. Removed, and a ``TimeoutError``, if it outlasts ``timeout``."""
        name = f"{self.project}-{service}-once-{uuid.uuid4().hex[:8]}"
        settings = [f"--env={key}={value}" for key, value in (environment or {}).items()]
        argv = [*self.compose.docker_compose_command(), "run", "--rm", "--no-deps", "-T",
                "--name", name, *settings, service, *command]  # fmt: skip
        began = time.monotonic()
        try:
            done = subprocess.run(
                argv, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            # The CLI is gone, not its container: that would run on.
            subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=30)
            raise TimeoutError(f"{service} still running after {timeout:g} s: {command}") from None
        return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - began)

    def wait_healthy(self, service: str, timeout: float = 60) -> None:
        """Returns once every replica of the service runs and passes its health check."""
        deadline = time.monotonic() + timeout
        for replica in self.replicas(service):
            while not running_and_healthy(replica):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{replica.name} is not healthy after {timeout:g} s")
                time.sleep(0.2)


def pause(container: Any, attempts: int = 10) -> None:
    """Freezes the container. The engine refuses now and then ("unable to freeze") when a process
    is being started in the container at that moment (a health check's), so it is asked again."""
    for attempt in range(attempts):
        try:
            container.pause()
            return
        except APIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def frozen(containers: list[Any]) -> Iterator[None]:
    """The containers paused for the block; after it, those still paused carry on."""
    for container in containers:
        pause(container)
    try:
        yield
    finally:
        for container in containers:
            container.reload()
            if container.attrs["State"]["Paused"]:
                container.unpause()


def running_and_healthy(container: Any) -> bool:
    container.reload()
    state = container.attrs["State"]
    return bool(state["Running"]) and (state.get("Health") or {}).get("Status") in (None, "healthy")


def session_override(config: dict[str, Any], parts: list[Override]) -> Override:
    """What the tests change: the session label on everything, loopback ports, short timeouts."""
    labels = docker.session_labels()
    labelled: Override = {
        "services": {name: {"labels": labels} for name in config["services"]},
        "networks": {"default": {"labels": labels}},
        "volumes": {name: {"labels": labels} for name in config.get("volumes") or {}},
    }
    return merged(labelled, SHARED_OVERRIDE, *parts)


def credentials() -> dict[str, str]:
    """A value made for this run for each variable compose.yaml requires, unless the environment
    sets it (letters and digits: they go into URLs)."""
    required = set(REQUIRED_VARIABLE.findall((PROJECT / COMPOSE_FILE).read_text(encoding="utf-8")))
    return {name: secrets.token_hex(16) for name in sorted(required) if name not in os.environ}


def project_name() -> str:
    """Unique per run: from ``TEST_RUN_ID`` when a caller wants to find what the run made."""
    given = re.sub(r"[^a-z0-9_-]", "-", os.environ.get("TEST_RUN_ID", "").lower())
    return f"e2e-{given or uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def running(parts: list[Override], workdir: Path) -> Iterator[Stack]:
    """The stack up (built, healthy) for the length of the block; then down, with its volumes
    and any orphan, whatever happened."""
    project = project_name()
    saved = os.environ.copy()
    # DockerCompose runs compose with this process's environment.
    ports = loopback_ports(APP_REPLICAS)
    os.environ.update(
        COMPOSE_PROJECT_NAME=project, APP_PORT=f"{docker.publish_address()}:{ports[0]}-{ports[-1]}"
    )
    os.environ.update(credentials())
    config = DockerCompose(context=PROJECT, compose_file_name=COMPOSE_FILE).get_config()
    override = workdir / "compose.e2e.json"  # JSON is YAML: compose reads it as an override
    override.write_text(json.dumps(session_override(config, parts), indent=2))
    docker.ensure_reaper()
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
