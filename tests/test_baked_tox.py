"""A sample of bakes runs its own tox environments, as a person who baked it would: each in its own
virtualenvs, installed from the bake's pyproject.toml. ``slow``: lint, type, unit and contract (no
Docker), the contract layer's pacts checked by name and interaction.
``docker``: the integration layer against real dependencies in containers."""

from __future__ import annotations

import json
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
    n = len(INTEGRATION_SAMPLE)
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
