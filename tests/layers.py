"""Running a bake's layers from the template's tests, and watching what they leave in Docker: a
bake of its own for each run, its tox, and the resources created under its testcontainers sessions
(seen on Docker's event stream) with what of them is still there afterwards."""

from __future__ import annotations

import json
import os
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import helpers


def bake_alone(spec: str, tmp_path: Path, cookiecutter_config: Path) -> Path:
    """A bake of its own: tox leaves virtualenvs in it, which no other test should see."""
    return helpers.bake(helpers.combo(spec), tmp_path / "out", cookiecutter_config)


def tox(project: Path, *args: str, **env: str) -> helpers.Ran:
    return helpers.run(
        helpers.python("-m", "tox", *args), cwd=project, env=helpers.clean_env(**env), timeout=1500
    )


def layer_images(project: Path) -> dict[str, str]:
    """The images a bake's Docker layers start, by the variable that names each (every one
    compose.yaml names, and testcontainers' Ryuk), as this environment gives them (``.ci/run``
    exports the drop-ins'): what a CI engine's run hands the jobs, as a user names a mirror."""
    names = set(
        re.findall(r"\$\{([A-Z][A-Z0-9_]*_IMAGE):-", (project / "compose.yaml").read_text())
    )
    names.add("RYUK_CONTAINER_IMAGE")
    given = {name: os.environ.get(name, "") for name in sorted(names)}
    return {name: image for name, image in given.items() if image}


def collected(project: Path, layer: str) -> list[str]:
    """The layer's tests as pytest collects them (no Docker needed)."""
    ran = helpers.run(
        helpers.python("-m", "pytest", layer, "-p", "no:cacheprovider", "--collect-only", "-q"),
        cwd=project,
        env=helpers.clean_env(PYTHONPATH=str(project / "src")),
        timeout=120,
    )
    assert ran.returncode == 0, ran.output
    return [line for line in ran.stdout.splitlines() if "::" in line]


# pip-audit's line for a package it could not audit (--strict makes it a failure): name, version.
UNAUDITED = re.compile(
    r"^ERROR:pip_audit\._cli:(\S+): Dependency not found on PyPI and could not be audited: \S+ \((\S+)\)$",
    re.MULTILINE,
)


def mutate_only(project: Path, module: str) -> None:
    """The bake's mutation testing narrowed to one module through mutmut's own setting
    (``only_mutate``), committed, as a maintainer would for a quick look."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert "\n[tool.mutmut]\n" in text
    pyproject.write_text(
        text.replace("\n[tool.mutmut]\n", f'\n[tool.mutmut]\nonly_mutate = ["{module}"]\n')
    )
    helpers.git(project, "commit", "-q", "-am", f"Mutation testing of {module} only")


def assert_mutated_only(output: str, module: str) -> None:
    """mutmut's report names the module, with mutants killed, and no other module of the service."""
    rows = {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}
    assert int(rows[module][0]) > 0, output
    assert not any(name.startswith("src/") and name != module for name in rows), output


# The pacts a bake's contract layer writes: one file per dependency it has, with these interactions.
STOREFRONT = [
    "a request for a page of orders",
    "a request for an order",
    "a request for an order that does not exist",
    "a request to cancel an order",
    "a request to place an order",
]
PRICING = [
    "a health check",
    "a request for a price while the pricing service fails",
    "a request for the price of a known SKU",
    "a request for the price of an unknown SKU",
]
NOTIFIER = ["an order.created event"]


# pytest's report of what failed, from its FAILURES banner to the end of its summary.
PYTEST_FAILURES = re.compile(
    r"^=+ FAILURES =+$.*?^=+ short test summary info =+$.*?^=+ .* =+$", re.M | re.S
)


def failures_first(output: str) -> str:
    """A job's output with pytest's failures section before it: where an engine's log is cut
    short in a report, what failed is still read."""
    failures = PYTEST_FAILURES.findall(output)
    return "\n".join([*failures, output]) if failures else output


def expected_pacts(answers: dict[str, str], slug: str) -> dict[str, list[str]]:
    """The pact files the contract layer of a bake writes, and their interactions."""
    pacts = {f"storefront-{slug}.json": STOREFRONT}
    if answers["upstream_api"] == "yes":
        pacts[f"{slug}-pricing-service.json"] = PRICING
    if answers["message_broker"] == "rabbitmq":
        pacts[f"notifier-{slug}.json"] = NOTIFIER
    return pacts


def written_pacts(project: Path) -> dict[str, list[str]]:
    return {
        path.name: sorted(i["description"] for i in json.loads(path.read_text())["interactions"])
        for path in sorted((project / "pacts").glob("*.json"))
    }


# testcontainers labels every container (and network) it starts with its session; Ryuk's own has none.
SESSION_LABEL = "org.testcontainers.session-id"
# Written into a bake under test: a root conftest that records each test process's testcontainers
# session, so that what a run created is told apart from what other runs on the same engine create.
SESSION_PROBE = """\
from pathlib import Path

from testcontainers.core.labels import SESSION_ID


def pytest_configure() -> None:
    with (Path(__file__).parent / ".testcontainers-sessions").open("a") as record:
        record.write(SESSION_ID + "\\n")
"""


def record_sessions(project: Path) -> None:
    (project / "conftest.py").write_text(SESSION_PROBE, encoding="utf-8")


def sessions_of(project: Path) -> set[str]:
    record = project / ".testcontainers-sessions"
    return set(record.read_text().split()) if record.exists() else set()


@contextmanager
def docker_created() -> Iterator[dict[str, dict[str, str]]]:
    """What Docker created with testcontainers' session label while the block runs, by kind
    (container, network, and volume: the containers' anonymous volumes, which carry no label), each
    with its session. From Docker's event stream, so that a resource created and left, or created
    and removed, is seen either way."""
    import docker

    client, inspector = docker.from_env(), docker.from_env()
    stream = client.events(
        decode=True, filters={"type": ["container", "network"], "event": "create"}
    )
    created: dict[str, dict[str, str]] = {"container": {}, "network": {}, "volume": {}}

    def collect() -> None:
        with suppress(Exception):  # the stream ends with an error when it is closed
            for event in stream:
                kind, actor = event.get("Type"), event.get("Actor", {})
                session = actor.get("Attributes", {}).get(SESSION_LABEL)
                if kind not in created or session is None:
                    continue
                created[kind][actor["ID"]] = session
                if kind == "container":
                    with suppress(docker.errors.NotFound):
                        mounts = inspector.api.inspect_container(actor["ID"])["Mounts"]
                        for mount in mounts:
                            if mount.get("Type") == "volume":
                                created["volume"][mount["Name"]] = session

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    try:
        yield created
    finally:
        time.sleep(1)  # the last events on their way
        stream.close()
        collector.join(timeout=10)
        client.close()
        inspector.close()


def of_sessions(created: dict[str, dict[str, str]], sessions: set[str]) -> dict[str, set[str]]:
    return {
        kind: {name for name, session in found.items() if session in sessions}
        for kind, found in created.items()
    }


def still_there(created: dict[str, set[str]]) -> dict[str, list[str]]:
    """Which of these resources (by kind) still exist."""
    import docker

    client = docker.from_env()
    inspect = {
        "container": client.api.inspect_container,
        "network": client.api.inspect_network,
        "volume": client.api.inspect_volume,
    }
    found: dict[str, list[str]] = {}
    try:
        for kind, names in created.items():
            for name in sorted(names):
                with suppress(docker.errors.NotFound):
                    inspect[kind](name)
                    found.setdefault(kind, []).append(name[:12])
    finally:
        client.close()
    return found


# --- The engine over TCP ----------------------------------------------------------------------------


@dataclass
class Forwarder:
    url: str
    connections: int = 0


@contextmanager
def tcp_to_unix_socket(path: str, most: int = 64) -> Iterator[Forwarder]:
    """``tcp://127.0.0.1:<port>`` forwarded to the engine's unix socket, for the length of the
    block. The engine here listens on its unix socket only; this stands in for an engine reached
    over TCP (a remote host, Docker Desktop's TCP setting). Loopback only, at most ``most``
    connections at once, each a pair of threads copying bytes until either side closes."""
    server = socket.create_server(("127.0.0.1", 0))
    forwarder = Forwarder(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    slots = threading.BoundedSemaphore(most)
    stop = threading.Event()

    def pump(source: socket.socket, target: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def forward(client: socket.socket) -> None:
        with client, socket.socket(socket.AF_UNIX) as engine:
            try:
                engine.connect(path)
                back = threading.Thread(target=pump, args=(engine, client), daemon=True)
                back.start()
                pump(client, engine)
                back.join()
            finally:
                slots.release()

    def accept() -> None:
        while not stop.is_set():
            if not select.select([server], [], [], 0.2)[0]:
                continue
            client, _ = server.accept()
            if not slots.acquire(timeout=30):
                client.close()
                continue
            forwarder.connections += 1
            threading.Thread(target=forward, args=(client,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield forwarder
    finally:
        stop.set()
        acceptor.join(timeout=5)
        server.close()


def engine_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip(f"the engine is not on a unix socket here ({host})")
    return host.removeprefix("unix://")
