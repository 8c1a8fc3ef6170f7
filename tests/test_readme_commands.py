"""Every command the two READMEs give still works: the ones that need no Docker are run as a
reader would run them (the template's bake command, the baked service started with nothing
configured and the `curl` that shows it taking an order); the others are checked for what they
name (a tox environment or label the bake has, shell that parses). With Docker, the baked README's
"Run it" section is followed in the order written, the whole stack included, and the service
started alone again afterwards."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import helpers

Baked = Callable[[Mapping[str, str]], Path]
SHELL_BLOCK = re.compile(r"```sh\n(.+?)\n```", re.DOTALL)
TOX_COMMAND = re.compile(r"\btox (?:-e|-m) ([\w,-]+)")
BAKES = [helpers.ALL_IN, helpers.ALL_OUT]


def shell_blocks(readme: str) -> list[str]:
    return SHELL_BLOCK.findall(readme)


def needs_docker(block: str) -> bool:
    return "docker" in block


def tox_names(project: Path) -> set[str]:
    """The environments and labels the bake's tox.ini defines."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(project / "tox.ini")
    envs = {section.removeprefix("testenv:") for section in config.sections()}
    labels = {
        label.strip()
        for section in config.sections()
        for label in config[section].get("labels", "").split(",")
        if label.strip()
    }
    return envs | labels


@pytest.mark.parametrize("answers", BAKES, ids=helpers.combo_id)
def test_every_tox_command_of_the_baked_readme_names_what_the_bake_has(
    baked: Baked, answers: dict[str, str]
) -> None:
    project = baked(answers)
    readme = (project / "README.md").read_text(encoding="utf-8")
    named = {name for found in TOX_COMMAND.findall(readme) for name in found.split(",")}

    assert named, "the README names no tox environment"
    assert named - tox_names(project) == set()


@pytest.mark.parametrize("answers", BAKES, ids=helpers.combo_id)
def test_every_docker_command_of_the_baked_readme_is_valid_shell(
    baked: Baked, answers: dict[str, str]
) -> None:
    project = baked(answers)
    blocks = [b for b in shell_blocks((project / "README.md").read_text()) if needs_docker(b)]

    assert blocks, "the README shows no way to run the stack"
    for block in blocks:
        ran = helpers.run(["bash", "-n", "-c", block], cwd=project)
        assert ran.returncode == 0, ran.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class RunIt:
    """The bake's "Run it" steps, verbatim from its README's shell blocks: the install, the command
    that serves, the ``curl`` that takes an order from it, and the whole stack's block."""

    install: str
    serve: str
    order: str
    stack: str


def run_it(project: Path) -> RunIt:
    blocks = shell_blocks((project / "README.md").read_text(encoding="utf-8"))
    start, *others = [block for block in blocks if not needs_docker(block)]
    (order,) = [block for block in others if "curl" in block]
    (stack,) = [block for block in blocks if needs_docker(block)]
    assert blocks.index(start) < blocks.index(order) < blocks.index(stack), blocks
    install, serve = start.rsplit("\n", 1)
    return RunIt(install, serve, order, stack)


# A README ``curl`` as run here: at the port given instead of the README's, bounded, and printing
# ``HTTP <status>`` on a line of its own after each answer's body.
CURL_STATUS = re.compile(r"^HTTP (\d{3})$", re.MULTILINE)


def with_status(commands: str, port: int, within: float) -> str:
    moved = re.sub(r"\blocalhost:\d+\b", f"localhost:{port}", commands)
    return moved.replace("curl -s ", f"curl -s -m {within:g} -w '\\nHTTP %{{http_code}}\\n' ")


def statuses(ran: helpers.Ran) -> list[str]:
    return CURL_STATUS.findall(ran.stdout)


def install_as_the_readme_says(project: Path, steps: RunIt) -> None:
    installed = helpers.run(["bash", "-c", steps.install], cwd=project, timeout=600)
    assert installed.returncode == 0, installed.output


@contextmanager
def served_as_the_readme_says(project: Path, steps: RunIt, log: Path) -> Iterator[int]:
    """The README's serve command, verbatim, in the virtualenv its install made, with Flask's port
    moved to a free one through its own ``FLASK_RUN_PORT``; yields the port once it listens. Its
    output goes to ``log``."""
    port = free_port()
    env = helpers.clean_env(FLASK_RUN_PORT=str(port), FLASK_LOG_JSON="false")
    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", f". .venv/bin/activate && exec {steps.serve}"], cwd=project, env=env,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not listens(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"`{steps.serve}` does not listen:\n{log.read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def takes_an_order(project: Path, steps: RunIt, port: int, within: float) -> helpers.Ran:
    """The README's order ``curl`` against the served port, in the virtualenv its install made:
    a token comes from the service's own command."""
    request = with_status(steps.order, port, within)
    return helpers.run(
        ["bash", "-c", f". .venv/bin/activate && {request}"], cwd=project, timeout=within + 60
    )


@pytest.fixture
def running_as_the_readme_says(
    baked: Baked, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, int, RunIt]]:
    """The bake's own "Run it" commands, verbatim, in a copy of the bake. Yields the project, the
    port and the steps."""
    project = tmp_path / "project"
    shutil.copytree(baked(request.param), project)
    steps = run_it(project)
    install_as_the_readme_says(project, steps)
    with served_as_the_readme_says(project, steps, tmp_path / "flask.log") as port:
        yield project, port, steps


@pytest.mark.slow
@pytest.mark.parametrize("running_as_the_readme_says", BAKES, ids=helpers.combo_id, indirect=True)
def test_the_baked_service_runs_and_takes_an_order_as_its_readme_says(
    running_as_the_readme_says: tuple[Path, int, RunIt],
) -> None:
    project, port, steps = running_as_the_readme_says

    created = takes_an_order(project, steps, port, within=30)
    ready = helpers.run(["curl", "-s", "-m", "30", f"localhost:{port}/readyz"], cwd=project)

    assert statuses(created) == ["201"], created.output
    assert '"database":"embedded"' in ready.stdout, ready.output


# How long an order may take from `flask run` on the embedded stand-ins: they answer at once; the
# bounded waits of a dependency that is configured but not there answer later, and not with a 201.
ORDER_WITHIN_SECONDS = 10


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.xdist_group("docker")  # one container layer at a time (see docker_alone)
def test_run_it_in_the_order_written_flask_run_still_takes_an_order_after_the_stack_step(
    baked: Baked, tmp_path: Path, docker_alone: None
) -> None:
    """A reader of the default bake follows "Run it" as written, in one folder: the service alone
    (`flask run`), then the whole stack (`cp .env.example .env`, `docker compose up`), then
    `flask run` again, which now finds the `.env` the stack step left."""
    defaults = {option: helpers.CHOICES[option][0] for option in helpers.ALL_IN}
    assert defaults == helpers.ALL_IN, "the default bake is not the one the module's tests share"
    project = tmp_path / "project"
    shutil.copytree(baked(helpers.ALL_IN), project)
    steps = run_it(project)
    install_as_the_readme_says(project, steps)

    # 1. The service alone, on its embedded stand-ins.
    with served_as_the_readme_says(project, steps, tmp_path / "flask-1.log") as port:
        created = takes_an_order(project, steps, port, within=ORDER_WITHIN_SECONDS)
        ready = helpers.run(["curl", "-s", "-m", "30", f"localhost:{port}/readyz"], cwd=project)
    assert statuses(created) == ["201"], created.output
    assert '"database":"embedded"' in ready.stdout, ready.output

    # 2. The whole stack, its block run as written: a project name of its own, and the service
    # published on a free loopback port (README: APP_PORT); the drop-in images come from the
    # environment (*_IMAGE), as in the other Docker tests.
    stack_port = free_port()
    stack_env = helpers.clean_env(
        COMPOSE_PROJECT_NAME=f"readme-{uuid.uuid4().hex[:12]}", APP_PORT=f"127.0.0.1:{stack_port}"
    )
    script = "set -e\n" + with_status(steps.stack, stack_port, within=30)
    try:
        stack = helpers.run(["bash", "-c", script], cwd=project, env=stack_env, timeout=900)
        # Its readiness, then the orders its token reads.
        assert stack.returncode == 0, stack.output
        assert statuses(stack) == ["200", "200"], stack.output

        # 3. The service alone again, in the same folder, now with the stack's `.env` beside it.
        # Flask's CLI loads `.env` when python-dotenv is installed, which the unit extra brings
        # (openapi-spec-validator, pydantic-settings) as soon as the reader installs the extras
        # for the tests (README, "Developer tooling"): the lock's version, into the README's
        # virtualenv.
        assert (project / ".env").is_file()
        (dotenv,) = re.findall(
            r"^python-dotenv==\S+$", (project / "requirements-lock.txt").read_text(), re.MULTILINE
        )
        extra = helpers.run(
            ["bash", "-c", f". .venv/bin/activate && pip install -q '{dotenv}'"],
            cwd=project,
            timeout=300,
        )
        assert extra.returncode == 0, extra.output
        log = tmp_path / "flask-3.log"
        with served_as_the_readme_says(project, steps, log) as port:
            began = time.monotonic()
            again = takes_an_order(project, steps, port, within=ORDER_WITHIN_SECONDS)
            took = time.monotonic() - began
        assert statuses(again) == ["201"], (
            f"{again.output}\n--- took {took:.1f} s; `flask run`:\n{log.read_text()[-4000:]}"
        )
    finally:
        down = helpers.run(
            ["docker", "compose", "down", "--volumes", "--remove-orphans"],
            cwd=project,
            env=stack_env,
            timeout=180,
        )
        assert down.returncode == 0, down.output


@pytest.mark.slow
def test_the_template_readmes_bake_command_bakes(tmp_path: Path) -> None:
    """The first of the two commands, verbatim, in a copy of the template."""
    copy = tmp_path / "template"
    shutil.copytree(
        helpers.TEMPLATE,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".tox", ".git", "baked", "__pycache__"),
    )
    readme = (helpers.TEMPLATE / "README.md").read_text(encoding="utf-8")
    bake = shell_blocks(readme.split("## Two commands", 1)[1])[0]

    ran = helpers.run(["bash", "-c", bake], cwd=copy, env=helpers.clean_env(), timeout=600)

    assert ran.returncode == 0, ran.output
    assert (copy / "baked" / "orders-service" / "compose.yaml").is_file()
    assert os.access(copy / ".venv" / "bin" / "cookiecutter", os.X_OK)
