"""What tracing costs a request: ``POST /orders`` in process, with telemetry recording every span to
an in-memory exporter, and without telemetry at all, in the same run.

Bakes the same answers twice, ``observability=otel`` and ``observability=none``, then times
``POST /orders`` through Flask's test client in a fresh process per bake and round (the two
alternating, so that both meet the same load of the machine), and prints p50 and p99 per bake as
the median over the rounds, and their difference. Numbers are printed, never asserted.

What is measured is the service's own work and its instrumentation: an SQLite database in memory,
the price in the request (no HTTP call), the event recorded in the outbox (published by nobody).
It needs the bakes' requirements installed, as the ``tests`` and ``benchmark`` tox environments do:
``python benchmarks/telemetry.py [--requests N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import helpers

ANSWERS = {
    **helpers.ALL_OUT,
    # The outbox row and its headers are part of what tracing adds to a create.
    "message_broker": "rabbitmq",
}
# Run in each bake's process: the app in process, its schema made, one order posted per request.
DRIVER = """
import json, sys, time
{start}
from orders_service import create_app, db
from orders_service.db import Base

app = create_app({{"TESTING": True, "DATABASE_URL": "sqlite://"}}, instance_path=sys.argv[2])
engine = db.DATABASE.of(app).engine
Base.metadata.create_all(engine)
db.stamp(engine)
client = app.test_client()
body = {{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50", "currency": "EUR"}}
for _ in range(50):  # warm-up: imports, caches, the first connections
    client.post("/orders", json=body)
took = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    response = client.post("/orders", json=body)
    took.append(time.perf_counter() - started)
    assert response.status_code == 201, response.get_data(as_text=True)
{check}
print(json.dumps(took))
"""
TRACED = """
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from orders_service.dependencies import telemetry
exporter = InMemorySpanExporter()
telemetry.start([SimpleSpanProcessor(exporter)])
"""
# A traced run that recorded nothing would be measuring nothing.
TRACED_CHECK = 'assert len(exporter.get_finished_spans()) > int(sys.argv[1]), "no spans"'


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(project: Path, traced: bool, requests: int, instance: Path) -> list[float]:
    driver = DRIVER.format(start=TRACED if traced else "", check=TRACED_CHECK if traced else "")
    ran = helpers.run(
        helpers.python("-c", driver, str(requests), str(instance)),
        cwd=project,
        env=helpers.clean_env(PYTHONPATH=str(project / "src")),
        timeout=900,
    )
    if ran.returncode != 0:
        raise SystemExit(ran.output)
    took: list[float] = json.loads(ran.stdout.splitlines()[-1])
    return took


def quiet_bake(answers: dict[str, str], into: Path, config: Path) -> Path:
    """A bake by cookiecutter's command, its output (the hook's next steps) kept from the figures."""
    pairs = [f"{option}={answer}" for option, answer in answers.items()]
    ran = helpers.run(
        helpers.python("-m", "cookiecutter", "--no-input", str(helpers.TEMPLATE),
                       "--output-dir", str(into), "--config-file", str(config), *pairs),
        cwd=into.parent,
    )  # fmt: skip
    if ran.returncode != 0:
        raise SystemExit(ran.output)
    (project,) = into.iterdir()
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each bake, alternating")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        config = helpers.write_cookiecutter_config(work / "config")
        bakes = {
            label: quiet_bake({**ANSWERS, "observability": answer}, work / label, config)
            for label, answer in (("traced", "otel"), ("untraced", "none"))
        }
        figures: dict[str, list[tuple[float, float]]] = {label: [] for label in bakes}
        for round_ in range(arguments.rounds):
            for label, project in bakes.items():
                instance = work / f"instance-{label}-{round_}"
                took = timed(project, label == "traced", arguments.requests, instance)
                figures[label].append((quantile(took, 0.5), quantile(took, 0.99)))
    print(
        f"POST /orders in process, {arguments.requests} requests x {arguments.rounds} rounds "
        f"per bake ({'+'.join(ANSWERS[o] for o in helpers.DEPENDENCY_OPTIONS)}), "
        "median over the rounds:"
    )
    medians = {}
    for label, rounds in figures.items():
        p50 = statistics.median(p for p, _ in rounds) * 1000
        p99 = statistics.median(p for _, p in rounds) * 1000
        medians[label] = (p50, p99)
        every = ", ".join(f"{p * 1000:.2f}/{q * 1000:.2f}" for p, q in rounds)
        print(f"  {label:9} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms   (each round p50/p99: {every})")
    (t50, t99), (u50, u99) = medians["traced"], medians["untraced"]
    print(f"  tracing adds p50 {t50 - u50:+.2f} ms ({(t50 / u50 - 1) * 100:+.0f} %), "
          f"p99 {t99 - u99:+.2f} ms ({(t99 / u99 - 1) * 100:+.0f} %)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
