"""Benchmark of the baked Docker layers: where their time goes, and what isolation costs.

Bakes the full-option project, then prints (median of ``--runs`` runs):

1. container start: each container the integration layer starts, alone, and all of them started
   concurrently vs one after another, through the bake's own fixture registry (``tests/fixtures``:
   the same images, commands and readiness checks the layer uses);
2. per-test isolation on one PostgreSQL container: savepoint rollback vs ``drop_all``/``create_all``
   vs ``TRUNCATE``, for the same unit of work (one order written and committed);
3. the compose stack (the bake's own ``compose.yaml``): the time until every service is healthy,
   next to each service's own time to healthy;
4. the layers as pytest reports them: the unit layer, the integration layer next to its floor (the
   slowest readiness of what it starts, nothing added) and the e2e layer, each with its target; and
   the ten slowest tests of each layer, split into setup, call and teardown, with what each waits
   on (read from its fixtures by ``timings.py``, a plugin loaded into each run) and the bounds its
   code names (the ``*_SECONDS`` and ``*TIMEOUT*`` numbers it waits out);
5. the mutation score of the bake (``tox -e mutation``'s two steps: mutmut over ``src/`` against
   the unit layer, then its report per module), which takes about a quarter of an hour;
6. the waits the layers keep at real time, with the reason for each (``REAL_TIME_WAITS``);
7. with ``--ci-log``, the template CI's wall time from a log of ``bash .ci/run``, next to its target.

``--short`` runs each part once, with few isolation rounds, no sequential start, no mutation
testing, two integration tests and no e2e layer (it runs through the same code as the integration
layer, after a stack start part 3 has already made): a check that the benchmark still works (CI
runs it), not a measurement.
``--template`` bakes another checkout of the template (before and after a change, in one run).

Needs Docker and the images the baked project names (override them with ``*_IMAGE`` variables).
``--no-mutation`` leaves out part 5.
Usage: ``python benchmarks/integration.py [--runs 3] [--isolation-rounds 30] [--short]
[--no-mutation] [--template PATH] [--ci-log PATH]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "orders_service"
# What --short runs of the integration layer: enough for every code path of this script.
SHORT_INTEGRATION = "misses_then_fills or cancelling_invalidates"


# Targets, printed next to the figures and never asserted (a benchmark measures; it does not gate).
UNIT_TARGET_SECONDS = 2.0
INTEGRATION_TARGET_RATIO = 3.0
E2E_TARGET_SECONDS = 60.0
# The template's own CI (``bash .ci/run`` from a fresh clone), read from its log (``--ci-log``).
TEMPLATE_CI_TARGET_SECONDS = 12 * 60
SLOWEST_SHOWN = 10
# What the layers wait out at real time, no setting shortening it, and why: printed beside the
# figures, so that a wait added to this list is a decision, and one missing from it a question.
REAL_TIME_WAITS = (
    ("containers starting, the stack's up --wait", "the servers' own boot (RabbitMQ's Erlang VM "
     "about 7 s); part 1 and 3 measure them"),
    ("the service image built", "once per session, from the bake's Dockerfile; cached layers"),
    ("every e2e restart (broker from its volume, database, identity provider's JVM, the service, "
     "the relay)", "a restart is the behaviour under test: health checks say when it is back"),
    ("PostgreSQL's connect timeout, 2 s", "libpq takes nothing shorter: a hung server's first "
     "connection waits it out"),
    ("the relay starved of CPU, then killed", "its progress at 1 % of a core is what shows a "
     "claim held and taken over"),
    ("the e2e stack's database round-trip deadline, 0.8 s (outages 2.4 s)", "above half a second: "
     "the deadline counts a thread's wait for the interpreter: with twenty creates at once on a "
     "loaded runner, a create was answered 503 with nothing down"),
    ("one-off `docker compose run` containers", "the README's commands and a service started "
     "without a setting, each a container's start"),
)  # fmt: skip
# The fixtures that say what a test waits on: a fault it injects, a dependency it reads back from.
WAITING_FIXTURES = ("_outage", "_stubs", "order_events", "event_queue", "committing_", "service_in")


def bake(template: Path, into: Path) -> Path:
    return Path(cookiecutter(str(template), no_input=True, output_dir=str(into)))


def registry(project: Path) -> Any:
    """The bake's fixture registry (``tests/fixtures/docker.py``), once its integration layer's
    conftest is imported: it imports every fixture module of the layer, each of which registers
    its container factory."""
    sys.path[:0] = [str(project), str(project / "src")]
    importlib.import_module("tests.integration.conftest")
    return importlib.import_module("tests.fixtures.docker")


def start_timed(factory: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    container = factory()
    container.start()
    return container, time.perf_counter() - started


def start_all(
    factories: dict[str, Callable[[], Any]], concurrently: bool
) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    workers = len(factories) if concurrently else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(factories, pool.map(start_timed, factories.values()), strict=True))
    wall = time.perf_counter() - started
    for container, _ in results.values():
        container.stop()
    return wall, {name: seconds for name, (_, seconds) in results.items()}


def run_layer(project: Path, layer: str, env: dict[str, str], select: str | None) -> LayerRun:
    """Runs a test layer once, with the timings plugin: the session's time as pytest reports it,
    and each test's phases and fixtures."""
    timings = project / f"timings-{uuid.uuid4().hex}.json"
    command = [
        sys.executable, "-m", "pytest", layer, "-q", "-p", "no:cacheprovider", "-p", "timings",
        *(["-k", select] if select else []),
    ]  # fmt: skip
    plugin_path = {"PYTHONPATH": f"{Path(__file__).parent}{os.pathsep}{env['PYTHONPATH']}"}
    run_env = {**env, **plugin_path, "BENCHMARK_TIMINGS": str(timings)}
    subprocess.run(command, cwd=project, env=run_env, check=True, stdout=subprocess.DEVNULL)
    recorded = json.loads(timings.read_text(encoding="utf-8"))
    return LayerRun(recorded["seconds"], recorded["tests"])


class LayerRun:
    def __init__(self, seconds: float, tests: dict[str, dict[str, Any]]) -> None:
        self.seconds = seconds
        self.tests = tests

    def slowest(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.tests.items(), key=lambda item: -sum(item[1]["phases"].values()))[:count]


def waits_on(nodeid: str, test: dict[str, Any]) -> str:
    """The phase a test spends most in, and what it waits on there: the fixtures that inject a
    fault or read a dependency back, else the fault its parameters name (the e2e scenarios)."""
    phases: dict[str, float] = test["phases"]
    phase = max(phases, key=lambda name: phases[name])
    if phase == "setup" and ({"containers", "stack"} & set(test["fixtures"])):
        return "setup: the session's containers starting (the first test to need them)"
    waiting = [f for f in test["fixtures"] if any(part in f for part in WAITING_FIXTURES)]
    if "[" in nodeid:
        waiting.append(f"its case: {nodeid[nodeid.index('[') + 1 : -1]}")
    return f"{phase}: {', '.join(waiting) or 'its own work'}"


def bounds_of(test: dict[str, Any]) -> str:
    """The bounds the test's code names, with their values (``timings.py``)."""
    bounds: dict[str, float] = test.get("bounds", {})
    named = ", ".join(f"{name} {value:g} s" for name, value in bounds.items())
    return f"bounds: {named}" if named else "bounds: none named"


def isolation_costs(project: Path, postgres: Callable[[], Any], rounds: int) -> dict[str, float]:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    db = importlib.import_module(f"{PACKAGE}.db")
    models = importlib.import_module(f"{PACKAGE}.models")
    # The app factory's module imports every dependency it wires: their tables are the schema's.
    importlib.import_module(PACKAGE)

    def work(session: Session) -> None:
        order = models.Order(
            sku="bench", quantity=1, unit_price=Decimal("1.00"), currency="EUR",
            created_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        order.change_status(models.CREATED)
        session.add(order)
        session.commit()

    container, _ = start_timed(postgres)
    try:
        engine = sa.create_engine(container.get_connection_url())
        db.upgrade(engine)
        tables = ", ".join(t.name for t in db.Base.metadata.sorted_tables)

        def savepoint_rollback() -> None:
            with engine.connect() as connection:
                outer = connection.begin()
                with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
                    work(session)
                outer.rollback()

        def drop_create() -> None:
            db.Base.metadata.drop_all(engine)
            db.Base.metadata.create_all(engine)
            with Session(engine) as session:
                work(session)

        def truncate() -> None:
            with Session(engine) as session:
                work(session)
            with engine.begin() as connection:
                connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))

        strategies = {
            "savepoint rollback": savepoint_rollback,
            "drop_all/create_all": drop_create,
            "TRUNCATE": truncate,
        }
        result = {name: median_seconds(strategy, rounds) for name, strategy in strategies.items()}
        engine.dispose()
        return result
    finally:
        container.stop()


def mutation_report(project: Path) -> str:
    """The bake's mutation report: its per-module table and the number of survivors."""
    # Without the bake's src on PYTHONPATH: mutmut's mutated copy must be what the tests import.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    run = [sys.executable, "-m", "mutmut", "run", "--max-children", "2"]
    subprocess.run(run, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    report = subprocess.run(
        [sys.executable, "-m", "tests.support.mutation"],
        cwd=project, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    table, _, survivors = report.stdout.partition("\n\n")
    return f"{table}\n{survivors.splitlines()[0] if survivors else ''}"


def median_seconds(action: Callable[[], None], rounds: int) -> float:
    action()  # warm-up: first connection, statement caches
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def compose_up(project: Path) -> tuple[float, dict[str, float]]:
    """``docker compose up --wait`` of the bake's own stack (its image built beforehand, so that
    the build is not counted): the time until every service is healthy (or done, for a one-shot
    service), and each service's own time to that, watched while it starts."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "COMPOSE_PROJECT_NAME": name, "APP_PORT": f"127.0.0.1:{free_port()}"}
    # The stack's credentials, as a newcomer's first `docker compose up` gets them.
    env_file = ["--env-file", str(project / ".env.example")]
    compose = ["docker", "compose", "--project-directory", str(project), *env_file]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*compose, "build", "--quiet"], env=env, check=True)
    ready: dict[str, float] = {}
    done = threading.Event()
    started = time.perf_counter()

    def watch() -> None:
        while not done.is_set():
            for service in compose_services(compose, env):
                if service["Service"] not in ready and service_ready(service):
                    ready[service["Service"]] = time.perf_counter() - started
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        up = subprocess.run(
            [*compose, "up", "--wait", "--quiet-pull"], env=env, capture_output=True, text=True
        )
        if up.returncode != 0:
            raise RuntimeError(f"docker compose up failed:\n{up.stdout}\n{up.stderr}")
        wall = time.perf_counter() - started
    finally:
        done.set()
        watcher.join(timeout=5)
        subprocess.run([*compose, "down", "--volumes", "--remove-orphans"], env=env, **quiet)
    return wall, ready


def compose_services(compose: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    listed = subprocess.run(
        [*compose, "ps", "--all", "--format", "json"], env=env, capture_output=True, text=True
    ).stdout.strip()
    if not listed:
        return []
    if listed.startswith("["):  # older compose: one JSON array
        services: list[dict[str, Any]] = json.loads(listed)
        return services
    return [json.loads(line) for line in listed.splitlines()]


def service_ready(service: dict[str, Any]) -> bool:
    if service.get("Health"):
        return bool(service["Health"] == "healthy")
    return service.get("State") == "exited" and service.get("ExitCode") == 0


def print_layers(
    unit: list[LayerRun],
    integration: list[LayerRun],
    readiness: dict[str, float],
    e2e: list[LayerRun],
    stack_wall: float,
) -> None:
    print()
    print(f"layers as pytest reports them (seconds), median of {len(unit)}")
    print(f"  {'layer':<12} {'tests':>5} {'time':>8} {'floor':>8} {'ratio':>6}   target")
    unit_time = median_time(unit)
    print(f"  {'unit':<12} {len(unit[0].tests):>5} {unit_time:8.2f} {'':>8} {'':>6}"
          f"   <= {UNIT_TARGET_SECONDS:g} s")  # fmt: skip
    name, floor = max(readiness.items(), key=lambda item: item[1])
    took = median_time(integration)
    print(f"  {'integration':<12} {len(integration[0].tests):>5} {took:8.2f} {floor:8.2f}"
          f" {took / floor:6.2f}   <= {INTEGRATION_TARGET_RATIO:g} x floor"
          f" (floor: the slowest readiness, {name})")  # fmt: skip
    if e2e:
        took = median_time(e2e)
        print(f"  {'e2e':<12} {len(e2e[0].tests):>5} {took:8.2f} {stack_wall:8.2f}"
              f" {took / stack_wall:6.2f}   <= {E2E_TARGET_SECONDS:g} s"
              f" (floor: the stack's up --wait)")  # fmt: skip
    for layer, runs in (("unit", unit), ("integration", integration), ("e2e", e2e)):
        if runs:
            print_slowest(layer, runs[0])


def median_time(runs: list[LayerRun]) -> float:
    return statistics.median(run.seconds for run in runs)


def print_slowest(layer: str, run: LayerRun) -> None:
    print()
    print(f"{layer}: the {SLOWEST_SHOWN} slowest tests (first run; setup / call / teardown)")
    for nodeid, test in run.slowest(SLOWEST_SHOWN):
        phases = test["phases"]
        split = " / ".join(f"{phases.get(p, 0.0):5.2f}" for p in ("setup", "call", "teardown"))
        print(f"  {sum(phases.values()):6.2f} s  ({split})  {nodeid.split('/')[-1]}")
        print(f"  {'':8}  {waits_on(nodeid, test)}; {bounds_of(test)}")


def print_template_ci(log: Path) -> None:
    """The template CI's wall time, from the last line ``.ci/run`` prints."""
    found = re.findall(r"^ci: total wall time (\d+) s$", log.read_text(errors="replace"), re.M)
    print()
    if not found:
        print(f"template CI: no 'ci: total wall time' line in {log}")
        return
    seconds = int(found[-1])
    print(f"template CI (.ci/run, {log}): {seconds} s"
          f"   <= {TEMPLATE_CI_TARGET_SECONDS} s")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--isolation-rounds", type=int, default=30)
    parser.add_argument("--short", action="store_true", help="one quick pass: does it still run")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the template to bake")
    parser.add_argument(
        "--no-mutation", action="store_true", help="leave out the mutation score (a quarter hour)"
    )
    parser.add_argument(
        "--ci-log", type=Path, help="a log of `bash .ci/run`, whose wall time is printed"
    )
    args = parser.parse_args()
    if args.short:
        args.runs, args.isolation_rounds = 1, 3

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        started = time.perf_counter()
        project = bake(args.template.resolve(), Path(tmp))
        print(f"baked {project.name} from {args.template} in {time.perf_counter() - started:.2f} s")
        print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        docker = registry(project)
        factories = dict(docker.FACTORIES)
        importlib.import_module("tests.support.docker").ensure_reaper()

        concurrent_runs = [start_all(factories, concurrently=True) for _ in range(args.runs)]
        sequential_runs = [
            start_all(factories, concurrently=False) for _ in range(0 if args.short else args.runs)
        ] or concurrent_runs
        concurrent = statistics.median(wall for wall, _ in concurrent_runs)
        sequential = statistics.median(wall for wall, _ in sequential_runs)
        readiness = {
            name: statistics.median(run[1][name] for run in sequential_runs) for name in factories
        }

        costs = isolation_costs(project, factories["postgres"], args.isolation_rounds)

        stack_runs = [compose_up(project) for _ in range(args.runs)]
        stack_wall = statistics.median(run[0] for run in stack_runs)
        healthy = {
            name: statistics.median(run[1].get(name, float("nan")) for run in stack_runs)
            for name in stack_runs[0][1]
        }

        env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{project / 'src'}"}
        unit_runs = [run_layer(project, "tests/unit", env, None) for _ in range(args.runs)]
        select = SHORT_INTEGRATION if args.short else None
        integration_runs = [
            run_layer(project, "tests/integration", env, select) for _ in range(args.runs)
        ]
        e2e_runs = [
            run_layer(project, "tests/e2e", env, None)
            for _ in range(0 if args.short else args.runs)
        ]
        mutation = None if args.short or args.no_mutation else mutation_report(project)
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    print()
    print(f"container start, median of {args.runs}")
    for name, seconds in sorted(readiness.items()):
        print(f"  {name:<12} {seconds:6.2f} s {'with the others' if args.short else 'alone'}")
    print(f"  {'concurrent':<12} {concurrent:6.2f} s   all at once")
    if not args.short:
        print(
            f"  {'sequential':<12} {sequential:6.2f} s   one after another"
            f" ({sequential / concurrent:.1f}x)"
        )
    print()
    print(f"per-test isolation on PostgreSQL, median of {args.isolation_rounds}")
    rollback = costs["savepoint rollback"]
    for name, seconds in costs.items():
        print(f"  {name:<20} {seconds * 1000:8.2f} ms   {seconds / rollback:6.1f}x rollback")
    print(
        f"  drop/create vs rollback: {costs['drop_all/create_all'] / rollback:.1f}x   target >= 10x"
    )
    print()
    print(f"compose stack (compose.yaml, image built), median of {args.runs}")
    for name, seconds in sorted(healthy.items(), key=lambda item: item[1]):
        print(f"  {name:<12} {seconds:6.2f} s to healthy (or done)")
    stack_slowest, stack_slowest_seconds = max(healthy.items(), key=lambda item: item[1])
    print(f"  {'up --wait':<12} {stack_wall:6.2f} s   slowest service: {stack_slowest}"
          f" {stack_slowest_seconds:.2f} s")  # fmt: skip
    print_layers(unit_runs, integration_runs, readiness, e2e_runs, stack_wall)
    if mutation is not None:
        print()
        print("mutation score (mutmut over src/, killed by the unit layer), target >= 90 %")
        print(mutation)
    print()
    print("waits kept at real time (no setting shortens them), and why")
    for wait, reason in REAL_TIME_WAITS:
        print(f"  {wait}: {reason}")
    if args.ci_log:
        print_template_ci(args.ci_log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
