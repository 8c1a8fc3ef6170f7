"""The API against its own OpenAPI document (schemathesis): every operation, with valid and invalid
requests made from the document, answers as the document says (every built-in check: status codes,
content types, headers and bodies as documented, valid data accepted, invalid data rejected, no
server error); and the links from ``POST /orders`` to reading and cancelling the new order hold
(stateful). Derandomized: the same cases every run, bounded so that the layer stays fast.

The service runs in process, on an SQLite file of its own, every other dependency embedded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from {{ cookiecutter.package_name }} import db, wiring
from {{ cookiecutter.package_name }}.db import Base
from tests.support.contract import REPORT, Credentials, contract_app

SEED = 20240601
MAX_EXAMPLES = 50
# Each scenario is a chain of calls (up to six): fewer of them cover the links as well.
STATEFUL_SCENARIOS = 20
CONFIG = {
    "seed": SEED,
    # No example database: the same cases every run, and nothing written to the project.
    "generation": {
        "mode": "all",
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
    },
    "checks": {"enabled": True},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
    },
}
CASES: Counter[str] = Counter()
# The document's own links (not those schemathesis infers), as followed in the stateful run.
FOLLOWED: Counter[str] = Counter()
LINKS = [
    "POST /orders -> [201] GetOrder -> GET /orders/{order_id}",
    "POST /orders -> [201] CancelOrder -> POST /orders/{order_id}/cancel",
]


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
    service_config: dict[str, Any],
    caller_headers: dict[str, str],
) -> Iterator[Flask]:
    app = contract_app(tmp_path_factory.mktemp("api-schema"), service_config, caller_headers)
    yield app
    wiring.close(app)


@pytest.fixture(scope="module")
def api_schema(app: Flask, credentials: Credentials) -> schemathesis.BaseSchema:
    # The credentials by the document's security scheme: every case carries them, and the
    # ignored_auth check knows what to leave out or spoil.
    auth = credentials.openapi_auth
    config = {**CONFIG, "auth": {"openapi": auth}} if auth else CONFIG
    return schemathesis.openapi.from_wsgi(
        "/openapi.json", app, config=SchemathesisConfig.from_dict(config)
    )


def empty(app: Flask) -> None:
    """Deletes every row, so that each scenario starts from the same state (the same ids too)."""
    with app.app_context():
        session = db.session()
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.commit()


@pytest.fixture(scope="module", autouse=True)
def _report_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    counts = ", ".join(f"{label}: {count}" for label, count in sorted(CASES.items()))
    request.config.stash.setdefault(REPORT, []).append(f"schemathesis cases: {counts}")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_answers_as_documented(case: Case[Any]) -> None:
    CASES[case.operation.label] += 1
    case.call_and_validate()


def test_a_new_order_can_be_read_and_cancelled_through_its_links(
    app: Flask, api_schema: schemathesis.BaseSchema
) -> None:
    workflow = api_schema.as_state_machine()

    class CountingWorkflow(workflow):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # What a scenario does depends on what it finds (an Idempotency-Key seen before is a
            # 200, not a 201): every scenario starts from an empty database.
            empty(app)
            CASES["stateful scenarios"] += 1

        def step(self, input):  # type: ignore[no-untyped-def]
            CASES["stateful steps"] += 1
            link = input.transition
            if link is not None and not link.is_inferred and input.is_applied:
                FOLLOWED[link.id] += 1
            return super().step(input)

    run_state_machine_as_test(
        CountingWorkflow,
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    CASES.update({f"followed {link.split(' -> ')[2]}": FOLLOWED[link] for link in LINKS})
    assert [link for link in LINKS if not FOLLOWED[link]] == [], FOLLOWED
