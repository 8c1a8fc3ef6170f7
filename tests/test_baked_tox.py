"""A sample of bakes runs its own tox environments, as a person who baked it would: each in its own
virtualenvs, installed from the bake's pyproject.toml. ``slow``: lint, type, unit and contract (no
Docker), the contract layer's pacts checked by name and interaction. ``docker``: the integration
layer against real dependencies in containers, and the e2e layer against the whole compose stack."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from filelock import FileLock

from tests import helpers

# Every bake's ruff, mypy and unit layer run in test_bake_matrix.py; these run a bake's own tox, the
# contract layer included: with everything, with nothing, with the broker but not the upstream
# (each pact is a file of its own dependency: these cover each one present and absent). The
# MariaDB bake's own tox runs below, in its Docker layers.
FAST_SAMPLE = [
    "postgresql+redis+rabbitmq+yes",  # all in
    "sqlite+none+none+no",  # all out
    "postgresql+none+rabbitmq+no",
]
# The full bake's integration layer runs in test_cleanup.py, with the engine reached over TCP.
INTEGRATION_SAMPLE = [
    "mariadb+redis+none+no",
]
# Its integration layer, with the unit and contract layers, measured (tox -e coverage).
COVERAGE_SAMPLE = [
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


@pytest.fixture
def docker_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One container layer at a time across the test processes: each starts several containers and
    builds an image, on two cores. (``xdist_group`` says the same to the scheduler, but pytest-xdist's
    loadgroup has broken before: pytest-xdist#1386.)"""
    with FileLock(tmp_path_factory.getbasetemp().parent / "docker-layer.lock"):
        yield


# Each Docker layer with the bakes it runs for: (tox environment, combination).
DOCKER_RUNS = [
    *[("integration", spec) for spec in INTEGRATION_SAMPLE],
    *[("coverage", spec) for spec in COVERAGE_SAMPLE],
    *[("e2e", spec) for spec in E2E_SAMPLE],
]


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
    if layer == "coverage":  # each of the three layers, then combined (and above fail_under)
        assert ran.stdout.count("\nTOTAL ") == 4, ran.output
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
