"""A pytest plugin the benchmark loads into a baked layer's run (``-p timings``): the session's
own time, as pytest reports it, and each test's setup, call and teardown time with the fixtures
it uses, and the bounds it names (its module's ``*_SECONDS`` and ``*TIMEOUT*`` numbers that its own
code refers to: what it waits out), written as JSON to ``$BENCHMARK_TIMINGS``.

A plugin rather than a JUnit report: JUnit keeps one duration per test, and the benchmark's point
is which phase a slow test spends its time in (the session's containers start in the first test's
setup) and what it waits on there (its fixtures)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

_began = 0.0
_tests: dict[str, dict[str, Any]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    global _began
    _began = time.time()


# A name that holds a duration a test waits out, by the suite's naming (``OUTAGE_SECONDS``).
BOUND = re.compile(r"SECONDS|TIMEOUT")


def names_in(code: CodeType) -> set[str]:
    """The global names a function refers to, its nested functions' and comprehensions' too."""
    nested = (const for const in code.co_consts if isinstance(const, CodeType))
    return set(code.co_names).union(*map(names_in, nested))


def bounds_named(item: pytest.Item) -> dict[str, float]:
    function = getattr(item, "function", None)
    if function is None:
        return {}
    known = function.__globals__
    return {
        name: known[name]
        for name in sorted(names_in(function.__code__))
        if BOUND.search(name) and isinstance(known.get(name), int | float)
    }


def pytest_runtest_setup(item: pytest.Item) -> None:
    entry = _tests.setdefault(item.nodeid, {"phases": {}})
    entry["fixtures"] = list(getattr(item, "fixturenames", ()))
    entry["bounds"] = bounds_named(item)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _tests.setdefault(report.nodeid, {"phases": {}, "fixtures": []})
    entry["phases"][report.when] = report.duration
    if report.when == "call" or report.failed:
        entry["outcome"] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    Path(os.environ["BENCHMARK_TIMINGS"]).write_text(
        json.dumps({"seconds": time.time() - _began, "tests": _tests}), encoding="utf-8"
    )
