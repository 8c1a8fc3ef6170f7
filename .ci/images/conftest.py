"""Prints how long each drop-in image took to be ready, after the test summary.

Each check records its times as user properties of its report (the ``report`` fixture), which
pytest-xdist carries from its workers to the process that prints the summary; output a test
prints itself is captured.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

TIMING = "drop-in image timing"
_lines: list[str] = []


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    def write(message: str) -> None:
        request.node.user_properties.append((TIMING, message))

    return write


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        name = report.nodeid.rpartition("::")[2]
        _lines.extend(f"{name}: {value}" for key, value in report.user_properties if key == TIMING)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _lines:
        terminalreporter.section("drop-in image timings")
        for line in sorted(_lines):
            terminalreporter.write_line(line)
