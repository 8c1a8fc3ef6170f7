"""Session fixtures (each combination is baked once per test process) and the Docker gate."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest
from filelock import FileLock

from tests import helpers


@pytest.fixture(scope="session")
def cookiecutter_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return helpers.write_cookiecutter_config(tmp_path_factory.mktemp("cookiecutter-home"))


@pytest.fixture(scope="session")
def baked(
    tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path
) -> Callable[[Mapping[str, str]], Path]:
    """``baked(answers)`` -> the project baked with those answers, baked once per session."""
    projects: dict[tuple[tuple[str, str], ...], Path] = {}

    def bake(answers: Mapping[str, str]) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in projects:
            output = tmp_path_factory.mktemp("bake")
            projects[key] = helpers.bake(answers, output, cookiecutter_config)
        return projects[key]

    return bake


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache per test process: the libraries are analysed once, then only each bake's own
    modules (``helpers.mypy_env`` makes mypy compare every cached module with its file, so that
    bakes cannot mix)."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="session", autouse=True)
def nested_pytest_temproot(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pytest runs this process starts (a bake's layers) keep their temporary folders under its
    own, never in the machine's shared root beside the other process's runs: with both cleaning
    up numbered folders in one root, a bake's unit layer once failed after every test passed, on
    an unclosed directory iterator in pytest's cleanup (its warnings are errors)."""
    helpers.keep_nested_pytest_under(tmp_path_factory.mktemp("nested-pytest", numbered=False))


@cache
def docker_unavailable() -> str | None:
    """Why no Docker engine can be used, or None when one answers."""
    try:
        import docker
    except ImportError as error:  # pragma: no cover - the test environment installs it
        return f"the docker client library is missing ({error})"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
        client.close()
    except Exception as error:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        return f"no Docker engine answers at {where} ({type(error).__name__})"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Docker-marked tests skip with one reason when there is no engine; with REQUIRE_DOCKER=1
    (the template's CI sets it) that is a failure instead, so the layer never passes by skipping."""
    if item.get_closest_marker("docker") is None:
        return
    reason = docker_unavailable()
    if reason is None:
        return
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason}; set REQUIRE_DOCKER=1 to make this a failure")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests (a bake's own tox environments) first, so that the two processes finish
    together instead of one waiting on a long test handed out last."""
    items.sort(
        key=lambda item: (
            0 if item.get_closest_marker("docker") or item.get_closest_marker("slow") else 1
        )
    )


@pytest.fixture
def docker_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One container layer at a time across the test processes: each starts several containers and
    builds an image, on two cores. (``xdist_group`` says the same to the scheduler, but pytest-xdist's
    loadgroup has broken before: pytest-xdist#1386.)"""
    with FileLock(tmp_path_factory.getbasetemp().parent / "docker-layer.lock"):
        yield


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What tests recorded with ``record_property`` (the growth recipes' time per step and layer),
    one line each at the end of the run: from every process, where a print would be lost."""
    lines = [
        f"{report.nodeid} {name}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in report.user_properties
    ]
    if lines:
        terminalreporter.write_sep("-", "recorded by the tests")
        for line in lines:
            terminalreporter.write_line(line)
