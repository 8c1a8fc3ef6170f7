"""Every command the two READMEs give still works: the ones that need no Docker are run as a
reader would run them (the template's bake command, the baked service started with nothing
configured and the `curl` that shows it taking an order); the others are checked for what they
name (a tox environment or label the bake has, shell that parses)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
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


@pytest.fixture
def running_as_the_readme_says(
    baked: Baked, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, int, list[str]]]:
    """The bake's own "Run it" commands, verbatim, in a copy of the bake; Flask's port moved to a
    free one through its own ``FLASK_RUN_PORT``. Yields the project, the port and the blocks."""
    project = tmp_path / "project"
    shutil.copytree(baked(request.param), project)
    blocks = [b for b in shell_blocks((project / "README.md").read_text()) if not needs_docker(b)]
    start, *others = blocks
    install, serve = start.rsplit("\n", 1)
    port = free_port()
    env = helpers.clean_env(FLASK_RUN_PORT=str(port), FLASK_LOG_JSON="false")
    installed = helpers.run(["bash", "-c", install], cwd=project, env=env, timeout=600)
    assert installed.returncode == 0, installed.output
    script = f". .venv/bin/activate && exec {serve}"
    server = subprocess.Popen(
        ["bash", "-c", script], cwd=project, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield project, port, others
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("running_as_the_readme_says", BAKES, ids=helpers.combo_id, indirect=True)
def test_the_baked_service_runs_and_takes_an_order_as_its_readme_says(
    running_as_the_readme_says: tuple[Path, int, list[str]],
) -> None:
    project, port, others = running_as_the_readme_says
    (order,) = [block for block in others if "curl" in block]
    request = order.replace("localhost:5000", f"localhost:{port}")
    status = request.replace("curl -s ", "curl -s -o /dev/null -w '%{http_code}' ", 1)

    # In the virtualenv the README's install made: a token comes from the service's own command.
    created = helpers.run(["bash", "-c", f". .venv/bin/activate && {status}"], cwd=project)
    ready = helpers.run(["curl", "-s", f"localhost:{port}/readyz"], cwd=project)

    assert created.stdout == "201", created.output
    assert '"database":"embedded"' in ready.stdout, ready.output


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
