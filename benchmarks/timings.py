"""A pytest plugin the benchmark loads into a baked layer's run (``-p timings``): the session's
own time, as pytest reports it, and each test's setup, call and teardown time with the fixtures
it uses, written as JSON to ``$BENCHMARK_TIMINGS``.

A plugin rather than a JUnit report: JUnit keeps one duration per test, and the benchmark's point
is which phase a slow test spends its time in (the session's containers start in the first test's
setup) and what it waits on there (its fixtures)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

_began = 0.0
_tests: dict[str, dict[str, Any]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    global _began
    _began = time.time()


def pytest_runtest_setup(item: pytest.Item) -> None:
    fixtures = list(getattr(item, "fixturenames", ()))
    _tests.setdefault(item.nodeid, {"phases": {}})["fixtures"] = fixtures


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _tests.setdefault(report.nodeid, {"phases": {}, "fixtures": []})
    entry["phases"][report.when] = report.duration
    if report.when == "call" or report.failed:
        entry["outcome"] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    Path(os.environ["BENCHMARK_TIMINGS"]).write_text(
        json.dumps({"seconds": time.time() - _began, "tests": _tests}), encoding="utf-8"
    )
