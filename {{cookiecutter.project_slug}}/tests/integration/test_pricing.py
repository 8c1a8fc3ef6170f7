"""The pricing upstream, virtualized: WireMock serves the stub mappings kept in ``tests/wiremock``
(the compose stack uses the same files); tests add their own stubs through the admin API and read
the request journal to see what the service really sent.

The client's promises (``pricing.py``): a read slower than the timeout is a 504 within about
timeout x attempts; a broken or failing upstream is retried, then a 502; after a few such failures
the circuit opens (503 at once, nothing reaches the upstream) and closes again after its reset time.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.fixtures.wiremock import PRICING_SETTINGS, Stubs
from tests.support.api import Orders
from tests.support.apps import MakeApp
from tests.support.readiness import (
    CHECK_BOUND,
    FAILING,
    READINESS_TIMEOUT,
    USABLE,
    Outage,
    assert_degraded_during,
    assert_states_only,
)

ATTEMPTS = PRICING_SETTINGS["PRICING_RETRIES"] + 1
READ_TIMEOUT = PRICING_SETTINGS["PRICING_READ_TIMEOUT_SECONDS"]
BACKOFF = PRICING_SETTINGS["PRICING_BACKOFF_SECONDS"]
FAIL_MAX = PRICING_SETTINGS["PRICING_BREAKER_FAIL_MAX"]
RESET_SECONDS = PRICING_SETTINGS["PRICING_BREAKER_RESET_SECONDS"]
# A health endpoint slower than readiness waits, and than a check retried as a call is: it answers
# well after the probe has, and after any retry of it would have been sent.
HEALTH_DELAY_SECONDS = READINESS_TIMEOUT + ATTEMPTS * READ_TIMEOUT
# What a probe may take beyond readiness's deadline on a loaded machine.
PROBE_MARGIN = 0.5
PROBES = 10


def price_stub(sku: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"request": {"method": "GET", "urlPath": f"/prices/{sku}"}, "response": response}


def order_count(connection: sa.Connection) -> int:
    count: int = connection.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
    return count


def test_an_order_is_priced_by_the_upstream(orders: Orders, pricing_stubs: Stubs) -> None:
    order = orders.created(sku="ABC-1", quantity=2)

    assert (order["unit_price"], order["currency"], order["total"]) == ("12.50", "EUR", "25.00")
    assert [request.method for request in pricing_stubs.requests("/prices/ABC-1")] == ["GET"]


def test_a_price_is_kept_to_the_cent(orders: Orders, pricing_stubs: Stubs) -> None:
    pricing_stubs.add(
        price_stub("DIME", {"status": 200, "jsonBody": {"unit_price": "0.10", "currency": "EUR"}})
    )

    order = orders.created(sku="DIME", quantity=3)

    assert (order["unit_price"], order["total"]) == ("0.10", "0.30")


def test_an_sku_the_upstream_does_not_know_is_refused_without_retrying(
    orders: Orders, pricing_stubs: Stubs, connection: sa.Connection
) -> None:
    response = orders.create(sku="unknown-1")

    assert response.status_code == 422
    assert "unknown-1" in response.get_json()["detail"]
    assert len(pricing_stubs.requests("/prices/unknown-1")) == 1
    assert order_count(connection) == 0


def test_an_upstream_slower_than_the_read_timeout_is_a_504_within_timeout_times_attempts(
    orders: Orders, pricing_stubs: Stubs, connection: sa.Connection
) -> None:
    pricing_stubs.add(
        price_stub(
            "SLOW",
            {
                "status": 200,
                "jsonBody": {"unit_price": "1.00", "currency": "EUR"},
                "fixedDelayMilliseconds": int(READ_TIMEOUT * 3 * 1000),
            },
        )
    )

    began = time.perf_counter()
    response = orders.create(sku="SLOW")
    took = time.perf_counter() - began

    assert response.status_code == 504
    assert response.mimetype == "application/problem+json"
    backoff = sum(BACKOFF * 2**retry for retry in range(1, ATTEMPTS - 1))
    assert ATTEMPTS * READ_TIMEOUT <= took < ATTEMPTS * READ_TIMEOUT + backoff + 0.75
    assert len(pricing_stubs.wait_for_requests("/prices/SLOW", ATTEMPTS)) == ATTEMPTS
    assert order_count(connection) == 0


FAULTS = {
    "connection-reset": {"fault": "CONNECTION_RESET_BY_PEER"},
    "empty-response": {"fault": "EMPTY_RESPONSE"},
    "503": {"status": 503, "jsonBody": {"title": "Service Unavailable", "status": 503}},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=list(FAULTS))
def test_a_failing_upstream_is_retried_then_the_circuit_opens_and_closes_after_its_reset_time(
    orders: Orders, pricing_stubs: Stubs, fault: dict[str, Any]
) -> None:
    failing = pricing_stubs.add(price_stub("FLAKY", fault))

    # Each call is retried: every attempt is in the journal; the call fails as a 502.
    for call in range(1, FAIL_MAX + 1):
        response = orders.create(sku="FLAKY")
        assert response.status_code == 502, response.get_data(as_text=True)
        assert len(pricing_stubs.requests("/prices/FLAKY")) == call * ATTEMPTS
    opened = time.monotonic()

    # The circuit is open: refused at once, and nothing reaches the upstream.
    refused = orders.create(sku="FLAKY")
    assert refused.status_code == 503
    assert "try again later" in refused.get_json()["detail"]
    assert len(pricing_stubs.requests("/prices/FLAKY")) == FAIL_MAX * ATTEMPTS

    # The upstream recovers; after the reset time one trial call goes through and closes it.
    pricing_stubs.remove(failing)
    time.sleep(max(0.0, opened + RESET_SECONDS - time.monotonic()) + 0.05)
    assert orders.create(sku="FLAKY").status_code == 201
    assert orders.create(sku="FLAKY").status_code == 201
    assert len(pricing_stubs.requests("/prices/FLAKY")) == FAIL_MAX * ATTEMPTS + 2


def test_still_ready_and_reporting_the_pricing_degraded_while_it_is_down(
    make_app: MakeApp, pricing_outage: Outage
) -> None:
    assert_degraded_during(pricing_outage, make_app, "pricing")


def slow_health(stubs: Stubs) -> None:
    stubs.add(
        {
            "request": {"method": "GET", "url": "/health"},
            "response": {
                "status": 200,
                "jsonBody": {"status": "ok"},
                "fixedDelayMilliseconds": int(HEALTH_DELAY_SECONDS * 1000),
            },
        }
    )


def health_requests_sent(stubs: Stubs, since: float) -> int:
    """How many /health requests the upstream received, counted once every retry of a check
    begun at ``since`` would have been sent (WireMock journals a request as it arrives, even one
    it delays; a check that went on after the probe answered would still be retrying)."""
    time.sleep(max(0.0, since + ATTEMPTS * READ_TIMEOUT + 0.25 - time.monotonic()))
    return len(stubs.requests("/health"))


def test_a_slow_upstream_is_reported_failing_within_the_deadline_checked_once(
    make_app: MakeApp, pricing_stubs: Stubs
) -> None:
    slow_health(pricing_stubs)
    client = make_app().test_client()

    began = time.monotonic()
    response = client.get("/readyz")
    took = time.monotonic() - began

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["degraded"]) == ("degraded", ["pricing"])
    assert_states_only(body)
    assert body["checks"]["pricing"] == FAILING
    # Never blamed on the database (an SQLite file is embedded, a server ok).
    assert body["checks"]["database"] in USABLE
    assert took < READINESS_TIMEOUT + PROBE_MARGIN
    # One request: the check is not retried (and no retry goes on after the probe answered).
    assert health_requests_sent(pricing_stubs, began) == 1


def test_probes_arriving_together_share_one_check_of_a_slow_upstream(
    make_app: MakeApp, pricing_stubs: Stubs
) -> None:
    slow_health(pricing_stubs)
    app = make_app()
    clients = [app.test_client() for _ in range(PROBES)]
    together = threading.Barrier(PROBES)

    def probe(client: FlaskClient) -> tuple[int, str, float]:
        together.wait()
        began = time.monotonic()
        response = client.get("/readyz")
        return response.status_code, response.get_json()["checks"]["pricing"], began

    began = time.monotonic()
    with ThreadPoolExecutor(PROBES) as pool:
        answers = list(pool.map(probe, clients))
    took = time.monotonic() - began

    assert {(status, pricing) for status, pricing, _ in answers} == {(200, FAILING)}
    assert took < READINESS_TIMEOUT + PROBE_MARGIN
    # Every probe arrived while the first check was in flight: they shared it.
    starts = [start for _, _, start in answers]
    assert max(starts) - min(starts) < CHECK_BOUND
    assert health_requests_sent(pricing_stubs, began) == 1
