"""Benchmark of the baked integration layer: where its time goes, and what isolation costs.

Bakes the full-option project, then prints (median of ``--runs`` runs):

1. container start: every dependency started concurrently vs one after another;
2. the integration layer's wall time next to its floor (slowest readiness + the tests' own time);
3. per-test isolation on one PostgreSQL container: savepoint rollback vs ``drop_all``/``create_all``
   vs ``TRUNCATE``, for the same unit of work (one order written and committed).

Needs Docker and the images the baked project names (override them with ``*_IMAGE`` variables).
Usage: ``python benchmarks/integration.py [--runs 3] [--isolation-rounds 30]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "orders_service"
DEFAULT_IMAGE = re.compile(r"\$\{(?P<var>[A-Z_]+_IMAGE):-(?P<default>[^}]+)\}")
LABEL = {"org.example.benchmark": "integration"}


def bake(into: Path) -> Path:
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(into)))


def image_names(project: Path) -> dict[str, str]:
    """The images compose.yaml names, with the environment's overrides applied."""
    text = (project / "compose.yaml").read_text()
    return {m["var"]: os.environ.get(m["var"], m["default"]) for m in DEFAULT_IMAGE.finditer(text)}


def container_factories(images: dict[str, str]) -> dict[str, Callable[[], Any]]:
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.community.redis import RedisContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    with warnings.catch_warnings():
        # The module itself still uses a decorator testcontainers 4.15 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        from testcontainers.community.rabbitmq import RabbitMqContainer

    def wiremock() -> Any:
        container = DockerContainer(images["WIREMOCK_IMAGE"]).with_exposed_ports(8080)
        return container.waiting_for(HttpWaitStrategy(8080, "/__admin/health"))

    return {
        "postgres": lambda: PostgresContainer(images["POSTGRES_IMAGE"], driver="psycopg"),
        "redis": lambda: RedisContainer(images["REDIS_IMAGE"]),
        "rabbitmq": lambda: RabbitMqContainer(images["RABBITMQ_IMAGE"]),
        "wiremock": wiremock,
    }


def start_timed(factory: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    container = factory()
    for key, value in LABEL.items():
        container.with_kwargs(labels={key: value})
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


def run_layer(project: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Runs the integration layer once: wall time, the tests' own (call) time, number of tests."""
    report = project / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", "tests/integration", "-q", "-p", "no:cacheprovider",
        f"--junitxml={report}", "-o", "junit_duration_report=call",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    cases = ET.parse(report).getroot().iter("testcase")
    times = [float(case.get("time", 0)) for case in cases]
    return wall, sum(times), len(times)


def isolation_costs(project: Path, images: dict[str, str], rounds: int) -> dict[str, float]:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session
    from testcontainers.community.postgres import PostgresContainer

    sys.path.insert(0, str(project / "src"))
    db = importlib.import_module(f"{PACKAGE}.db")
    models = importlib.import_module(f"{PACKAGE}.models")
    importlib.import_module(f"{PACKAGE}.events")  # its outbox table is part of the schema

    def work(session: Session) -> None:
        order = models.Order(
            sku="bench", quantity=1, unit_price=Decimal("1.00"), currency="EUR",
            created_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        order.change_status(models.CREATED)
        session.add(order)
        session.commit()

    container, _ = start_timed(
        lambda: PostgresContainer(images["POSTGRES_IMAGE"], driver="psycopg")
    )
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
        return {name: median_seconds(strategy, rounds) for name, strategy in strategies.items()}
    finally:
        container.stop()


def median_seconds(action: Callable[[], None], rounds: int) -> float:
    action()  # warm-up: first connection, statement caches
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--isolation-rounds", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        started = time.perf_counter()
        project = bake(Path(tmp))
        print(f"baked {project.name} in {time.perf_counter() - started:.2f} s")
        images = image_names(project)
        factories = container_factories(images)

        concurrent_runs = [start_all(factories, concurrently=True) for _ in range(args.runs)]
        sequential_runs = [start_all(factories, concurrently=False) for _ in range(args.runs)]
        concurrent = statistics.median(wall for wall, _ in concurrent_runs)
        sequential = statistics.median(wall for wall, _ in sequential_runs)
        readiness = {
            name: statistics.median(run[1][name] for run in sequential_runs) for name in factories
        }
        slowest_name, slowest = max(readiness.items(), key=lambda item: item[1])

        env = {**os.environ, "PYTHONPATH": str(project / "src")}
        layer_runs = [run_layer(project, env) for _ in range(args.runs)]
        wall = statistics.median(run[0] for run in layer_runs)
        own = statistics.median(run[1] for run in layer_runs)
        count = layer_runs[0][2]
        floor = slowest + own

        costs = isolation_costs(project, images, args.isolation_rounds)

    print()
    print(f"container start, median of {args.runs}")
    for name, seconds in sorted(readiness.items()):
        print(f"  {name:<12} {seconds:6.2f} s alone")
    print(f"  {'concurrent':<12} {concurrent:6.2f} s   all at once")
    print(
        f"  {'sequential':<12} {sequential:6.2f} s   one after another ({sequential / concurrent:.1f}x)"
    )
    print()
    print(f"integration layer ({count} tests), median of {args.runs}")
    print(f"  wall time    {wall:6.2f} s")
    print(f"  floor        {floor:6.2f} s   = slowest readiness ({slowest_name} {slowest:.2f} s)"
          f" + tests' own time {own:.2f} s")  # fmt: skip
    print(f"  ratio        {wall / floor:6.2f}     target <= 1.25")
    print()
    print(f"per-test isolation on PostgreSQL, median of {args.isolation_rounds}")
    rollback = costs["savepoint rollback"]
    for name, seconds in costs.items():
        print(f"  {name:<20} {seconds * 1000:8.2f} ms   {seconds / rollback:6.1f}x rollback")
    print(
        f"  drop/create vs rollback: {costs['drop_all/create_all'] / rollback:.1f}x   target >= 10x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
