"""A bake's integration layer leaves nothing behind, however its run ends; without an engine it skips
with one reason, or fails when REQUIRE_DOCKER=1. (The full bake's, with the engine reached over TCP,
is its workflow's integration job in test_act.py.)

Cleanup is testcontainers' own: the ``containers`` fixture removes what it started, and Ryuk removes
what a run killed outright left (everything labelled with the run's testcontainers session) once the
run has been gone for Ryuk's reconnection timeout. The runs here are the bake's ``pytest
tests/integration`` run directly with this environment's tools (every bake's dependencies), so that
the test can signal the very process that started the containers; ``docker_created`` watches what
they create (Docker's event stream) and ``still_there`` says what of it is left.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

from tests import helpers
from tests.layers import (
    bake_alone,
    docker_created,
    of_sessions,
    record_sessions,
    sessions_of,
    still_there,
)

# The smallest bake that starts a container in its integration layer (Redis; SQLite needs none).
SMALL = "sqlite+redis+none+no"
# Ryuk on, with its default reconnection timeout (testcontainers passes it on), whatever the
# environment of this run says.
RYUK = {"TESTCONTAINERS_RYUK_DISABLED": "false", "RYUK_RECONNECTION_TIMEOUT": "10s"}
RECONNECTION_SECONDS = 10.0


class Run:
    """The bake's integration layer as a process of its own (pytest, not tox: a signal reaches
    the process that started the containers), its output in a file (a pipe left unread could
    stall it)."""

    def __init__(self, project: Path, *args: str, **env: str) -> None:
        self.log = project.parent / "integration.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                helpers.python(
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "-rsE",
                    *(args or ["tests/integration"]),
                ),
                cwd=project,
                env=helpers.clean_env(PYTHONPATH=str(project / "src"), **env),
                stdout=log,
                stderr=subprocess.STDOUT,
                # Signals as a terminal delivers them, even if this run inherited SIGINT ignored
                # (a background job of a non-interactive shell does).
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.stop()
        return code, self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.1)


def running(created: dict[str, set[str]]) -> bool:
    """Whether a container of the run is up (the run is then inside its session)."""
    import docker

    client = docker.from_env()
    try:
        for container in list(created["container"]):
            with suppress(docker.errors.NotFound):
                if client.api.inspect_container(container)["State"]["Running"]:
                    return True
    finally:
        client.close()
    return False


def interrupted_while_running(project: Path, signum: signal.Signals) -> tuple[str, dict, float]:
    """Runs the layer, sends ``signum`` once its containers run, and waits until nothing it created
    is left (at most Ryuk's reconnection timeout plus a margin): its output, what was there when
    the process ended, and the seconds from the signal until nothing was left."""
    record_sessions(project)
    with docker_created() as created:
        run = Run(project, REQUIRE_DOCKER="1", **RYUK)

        def ours() -> dict[str, set[str]]:
            return of_sessions(created, sessions_of(project))

        try:
            wait_until(
                lambda: running(ours()) or run.process.poll() is not None, 180, "a container runs"
            )
            assert run.process.poll() is None, f"the run ended unsignalled\n{run.finish()[1]}"
            run.process.send_signal(signum)
            signalled = time.monotonic()
            code, output = run.finish(timeout=120)
            at_exit = still_there(ours())
            wait_until(lambda: not still_there(ours()), RECONNECTION_SECONDS + 30, "none is left")
            took = time.monotonic() - signalled
        finally:
            run.stop()
    return f"exit {code}\n{output}", at_exit, took


def docker_layer(test: Callable[..., None]) -> Callable[..., None]:
    """A test that runs a container layer: needs Docker; all on one process, one at a time."""
    for mark in (
        pytest.mark.docker,
        pytest.mark.xdist_group("docker"),
        pytest.mark.usefixtures("docker_alone"),
    ):
        test = mark(test)
    return test


@docker_layer
def test_a_run_killed_with_sigkill_leaves_nothing_once_ryuk_timed_out(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    project = bake_alone(SMALL, tmp_path, cookiecutter_config)

    output, at_exit, took = interrupted_while_running(project, signal.SIGKILL)

    print(f"SIGKILLed run: {at_exit} still there at the kill; nothing left {took:.1f} s after it")
    assert output.startswith(f"exit {-signal.SIGKILL}"), output
    # The run had no chance to clean up: its containers outlived it, until Ryuk's timeout passed.
    assert at_exit.get("container"), output
    assert RECONNECTION_SECONDS - 1 <= took <= RECONNECTION_SECONDS + 30, output


@docker_layer
def test_a_run_interrupted_with_ctrl_c_leaves_nothing(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    project = bake_alone(SMALL, tmp_path, cookiecutter_config)

    output, at_exit, took = interrupted_while_running(project, signal.SIGINT)

    print(
        f"Ctrl-C'd run: {at_exit} still there at its exit; nothing left {took:.1f} s after Ctrl-C"
    )
    assert output.startswith("exit 2"), output  # pytest's "interrupted"
    assert at_exit == {}, output


@docker_layer
def test_a_run_with_a_failing_test_leaves_nothing(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    project = bake_alone(SMALL, tmp_path, cookiecutter_config)
    failing = project / "tests" / "integration" / "test_fails_on_purpose.py"
    failing.write_text(
        "def test_fails_with_the_containers_up(containers: object) -> None:\n"
        "    raise AssertionError('failing on purpose')\n",
        encoding="utf-8",
    )

    record_sessions(project)

    with docker_created() as created:
        code, output = Run(project, str(failing.relative_to(project)), REQUIRE_DOCKER="1").finish()

    assert code == 1, output
    assert helpers.pytest_counts(output) == {"failed": 1}, output
    ours = of_sessions(created, sessions_of(project))
    assert ours["container"], output
    assert still_there(ours) == {}, output


NOWHERE = "unix:///nonexistent/docker.sock"


def test_without_docker_the_bakes_container_tests_skip_with_one_reason(
    baked: Callable[[dict[str, str]], Path],
) -> None:
    project = baked(helpers.combo(SMALL))

    code, output = Run(project, DOCKER_HOST=NOWHERE, REQUIRE_DOCKER="").finish(timeout=120)

    assert code == 0, output
    counts = helpers.pytest_counts(output)
    assert counts.get("skipped", 0) > 0, output
    assert set(counts) <= {"passed", "skipped"}, output
    # pytest folds the skips per file: one line each, all with the one reason.
    reasons = {
        line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("SKIPPED [")
    }
    (reason,) = reasons
    assert reason.startswith("Docker is not available"), output
    assert reason.endswith("set REQUIRE_DOCKER=1 to make this a failure"), output


def test_without_docker_and_with_require_docker_the_bakes_container_tests_fail(
    baked: Callable[[dict[str, str]], Path],
) -> None:
    project = baked(helpers.combo(SMALL))

    code, output = Run(project, DOCKER_HOST=NOWHERE, REQUIRE_DOCKER="1").finish(timeout=120)

    assert code == 1, output
    counts = helpers.pytest_counts(output)
    assert counts.get("error", 0) > 0, output
    assert "skipped" not in counts, output
    assert output.count("REQUIRE_DOCKER=1 but Docker is not available") >= counts["error"], output
