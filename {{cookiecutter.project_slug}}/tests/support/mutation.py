"""The mutation score of the last ``mutmut run`` (``tox -e mutation``), per module: of the mutants
some unit test runs, the share a test killed; then every survivor by name (``mutmut show NAME``
prints its change). Mutants no test runs are counted apart: they are a gap in coverage, not an
assertion too weak.

mutmut keeps each source file's results next to its mutated copy (``mutants/<path>.meta``: JSON,
each mutant's exit code) and prints only totals itself, hence this report. Run it from the
project's directory: ``python -m tests.support.mutation [--fail-under PERCENT]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

MUTANTS = Path("mutants")
# What a mutant's status means for the score: a timeout or a type error is the mutant caught too.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "suspicious"}


def statuses() -> dict[str, dict[str, str]]:
    """Each mutated module's mutants, by name, with their status."""
    found = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = meta.relative_to(MUTANTS).as_posix().removesuffix(".meta")
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        found[module] = {name: status_by_exit_code[code] for name, code in exit_codes.items()}
    return found


def score(counts: Counter[str]) -> float | None:
    tried = counts["killed"] + counts["survived"]
    return 100 * counts["killed"] / tried if tried else None


def counted(mutants: dict[str, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for status in mutants.values():
        if status in KILLED:
            counts["killed"] += 1
        elif status in SURVIVED:
            counts["survived"] += 1
        elif status == "no tests":
            counts["no tests"] += 1
    return counts


def report(found: dict[str, dict[str, str]]) -> float | None:
    """Prints the table and the survivors; returns the overall score."""
    total: Counter[str] = Counter()
    print(f"{'module':<52} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>8}")
    for module, mutants in found.items():
        counts = counted(mutants)
        total.update(counts)
        if counts:  # a module none of whose mutants this run tried is left out
            print(row(module, counts))
    print(row("all", total))
    survivors = [name for mutants in found.values() for name, s in mutants.items() if s in SURVIVED]
    print(f"\n{len(survivors)} survivor(s); `mutmut show NAME` prints the change:")
    for name in survivors:
        print(f"  {name}")
    return score(total)


def row(name: str, counts: Counter[str]) -> str:
    value = score(counts)
    shown = "-" if value is None else f"{value:.1f} %"
    return (
        f"{name:<52} {counts['killed']:>7} {counts['survived']:>9} {counts['no tests']:>9}"
        f" {shown:>8}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-under", type=float, default=0.0, metavar="PERCENT")
    args = parser.parse_args()
    found = statuses()
    if not found:
        print("No mutation results: run `mutmut run` first.", file=sys.stderr)
        return 1
    overall = report(found)
    if overall is not None and overall < args.fail_under:
        print(f"\nmutation score {overall:.1f} % is under {args.fail_under:g} %", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
