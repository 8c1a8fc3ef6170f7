"""What this layer promises about Docker itself, checked on pytest runs of their own: without an
engine a test that needs one is skipped with one reason (a failure with ``REQUIRE_DOCKER=1``), and
an interrupted run (Ctrl-C, SIGTERM) leaves none of its containers behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import docker
from tests.fixtures.images import PROJECT

# A run of its own: one container (the Python base image, which every bake names), that becomes
# ready when it prints READY_LINE; then a test that waits to be interrupted.
PROBE = """
import os, pathlib, time

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from tests.fixtures import docker
from tests.fixtures.images import image


@docker.container("sleeper")
def sleeper() -> DockerContainer:
    script = "import time; print('ready', flush=True); time.sleep(600)"
    return (
        DockerContainer(image("PYTHON_IMAGE"), labels=docker.labels())
        .with_command(["python", "-c", script])
        .waiting_for(LogMessageWaitStrategy(os.environ["PROBE_READY_LINE"]))
    )


def test_waits(containers: docker.Containers) -> None:
    pathlib.Path(os.environ["PROBE_MARKER"]).touch()
    time.sleep(600)
"""


def probe_run(tmp_path: Path, **environment: str) -> subprocess.Popen[str]:
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    inherited = {
        name: value
        for name, value in os.environ.items()
        # Not this run's identity nor its demands: the probe is a run of its own.
        if not name.startswith(("PYTEST_", "TEST_RUN_ID", "REQUIRE_DOCKER"))
    }
    paths = [str(PROJECT), str(PROJECT / "src"), inherited.get("PYTHONPATH", "")]
    return subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            *("-m", "pytest", "-p", "tests.fixtures.docker", "-p", "no:cacheprovider"),
            *("-rs", "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")),
        ],
        cwd=tmp_path,
        env={
            **inherited,
            "PYTHONPATH": os.pathsep.join(filter(None, paths)),
            "PROBE_READY_LINE": "ready",
            "PROBE_MARKER": str(tmp_path / "started"),
            **environment,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Signals as a terminal delivers them, even if this run inherited them ignored (a
        # background job of a non-interactive shell ignores SIGINT).
        preexec_fn=default_signal_handling,
    )


def default_signal_handling() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def finished(run: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = run.communicate(timeout=60)
    return run.returncode, output


def test_without_docker_a_test_that_needs_it_is_skipped_with_one_reason(tmp_path: Path) -> None:
    code, output = finished(probe_run(tmp_path, DOCKER_HOST="unix:///nonexistent/docker.sock"))

    assert code == 0, output
    assert "1 skipped" in output
    assert "SKIPPED [1]" in output
    assert "Docker is not available" in output
    assert "REQUIRE_DOCKER=1" in output


def test_without_docker_and_with_require_docker_the_test_fails(tmp_path: Path) -> None:
    run = probe_run(tmp_path, DOCKER_HOST="unix:///nonexistent/docker.sock", REQUIRE_DOCKER="1")
    code, output = finished(run)

    assert code == 1, output
    assert "1 error" in output
    assert "REQUIRE_DOCKER=1 but Docker is not available" in output


def containers_of(run_id: str) -> list[str]:
    return [found["Names"][0] for found in docker.listed({docker.RUN_LABEL: run_id})]


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for the probe run")
        time.sleep(0.05)


INTERRUPTIONS = {
    "ctrl-c-while-containers-start": (signal.SIGINT, "never printed"),
    "ctrl-c-during-a-test": (signal.SIGINT, "ready"),
    "sigterm-during-a-test": (signal.SIGTERM, "ready"),
}


@pytest.mark.parametrize(("signum", "ready_line"), INTERRUPTIONS.values(), ids=list(INTERRUPTIONS))
def test_an_interrupted_run_leaves_no_container_behind(
    docker_engine: Any, tmp_path: Path, signum: signal.Signals, ready_line: str
) -> None:
    run_id = f"probe-{uuid.uuid4().hex}"
    run = probe_run(tmp_path, TEST_RUN_ID=run_id, PROBE_READY_LINE=ready_line)
    try:
        if ready_line == "ready":
            wait_until(lambda: (tmp_path / "started").exists() or run.poll() is not None)
        else:
            wait_until(lambda: containers_of(run_id) or run.poll() is not None)
        assert run.poll() is None, run.communicate()[0]
        assert containers_of(run_id)

        run.send_signal(signum)
        code, output = finished(run)
        left = containers_of(run_id)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        docker.sweep({docker.RUN_LABEL: run_id})  # whatever happened, nothing stays

    assert code == 2, output  # pytest's "interrupted"
    assert left == [], output
