"""The pricing upstream, answered by ``responses``: prices, unknown SKUs, retries, timeouts and the
circuit breaker, each seen by the client as a clear status and never as a 500 or a hang."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import responses
import urllib3
from flask import Flask
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from {{ cookiecutter.package_name }} import wiring
from {{ cookiecutter.package_name }}.config import MissingSetting
from {{ cookiecutter.package_name }}.dependencies import pricing
from tests.support.api import CURRENCY, UNIT_PRICE, Orders, order_body
from tests.support.apps import (
    MakeApp,
    assert_degraded,
    assert_invalid_field,
    count_rows,
    each_of_two_turns,
    each_unset_value,
)
from tests.support.problems import assert_problem
from tests.unit.fakes.pricing import PRICING_BREAKER_FAIL_MAX, PRICING_RETRIES, PRICING_URL

PRICE_URL = f"{PRICING_URL}/prices/SKU-1"


def answer(upstream: responses.RequestsMock, **response: Any) -> None:
    """From now on the pricing service answers the price of SKU-1 with ``response``."""
    upstream.reset()
    upstream.add(responses.GET, PRICE_URL, **response)


def refused(orders: Orders, status: int) -> str:
    """Asserts ordering SKU-1 is a problem with ``status``; returns its detail."""
    detail: str = assert_problem(orders.create("SKU-1"), status)["detail"]
    return detail


def test_order_is_priced_by_the_upstream(
    app: Flask, orders: Orders, upstream: responses.RequestsMock
) -> None:
    answer(upstream, json={"unit_price": "7.25", "currency": "USD"})

    response = orders.create("SKU-1", 4)

    assert response.status_code == 201
    order = response.get_json()
    assert (order["unit_price"], order["total"], order["currency"]) == ("7.25", "29.00", "USD")
    assert [call.request.url for call in upstream.calls] == [PRICE_URL]
    # Bounded: the connect and read timeouts the settings give (responses keeps what the
    # request was sent with on it, untyped).
    sent_with = upstream.calls[0].request.req_kwargs  # type: ignore[attr-defined]
    assert sent_with["timeout"] == (
        app.config["PRICING_CONNECT_TIMEOUT_SECONDS"],
        app.config["PRICING_READ_TIMEOUT_SECONDS"],
    )
    assert count_rows(app, "orders") == 1


def test_a_price_sent_as_a_json_number_is_kept_exact(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    answer(upstream, json={"unit_price": 19.99, "currency": "EUR"})

    assert orders.create("SKU-1", 3).get_json()["total"] == "59.97"


def test_unknown_sku_is_422_and_not_retried(
    app: Flask, orders: Orders, upstream: responses.RequestsMock
) -> None:
    answer(upstream, status=404, json={"error": "no such sku"})

    detail = refused(orders, 422)

    assert "SKU-1" in detail
    assert len(upstream.calls) == 1
    assert count_rows(app, "orders") == 0


def test_unknown_skus_never_open_the_circuit(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    answer(upstream, status=404)

    statuses = [orders.create("SKU-1").status_code for _ in range(PRICING_BREAKER_FAIL_MAX + 2)]

    assert statuses == [422] * (PRICING_BREAKER_FAIL_MAX + 2)
    assert len(upstream.calls) == PRICING_BREAKER_FAIL_MAX + 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_failing_upstream_is_retried_then_502(
    app: Flask, orders: Orders, upstream: responses.RequestsMock, status: int
) -> None:
    answer(upstream, status=status)

    refused(orders, 502)

    assert len(upstream.calls) == PRICING_RETRIES + 1
    assert count_rows(app, "orders") == 0


def test_an_upstream_that_recovers_within_the_retries_prices_the_order(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    upstream.reset()
    upstream.add(responses.GET, PRICE_URL, status=503)
    upstream.add(responses.GET, PRICE_URL, json={"unit_price": "1.00", "currency": "EUR"})

    response = orders.create("SKU-1")

    assert response.status_code == 201
    assert len(upstream.calls) == 2


def test_a_client_error_from_the_upstream_is_502_and_not_retried(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    answer(upstream, status=400)

    refused(orders, 502)

    assert len(upstream.calls) == 1


POOL = urllib3.HTTPConnectionPool("pricing.test")


@pytest.mark.parametrize(
    "timeout",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        # A read timeout that used up the retries, as requests raises it.
        requests.exceptions.ConnectionError(
            MaxRetryError(POOL, "/prices/SKU-1", ReadTimeoutError(POOL, "/prices/SKU-1", "slow"))
        ),
    ],
    ids=["read", "connect", "read-after-retries"],
)
def test_upstream_timeout_is_504(
    app: Flask, orders: Orders, upstream: responses.RequestsMock, timeout: Exception
) -> None:
    answer(upstream, body=timeout)

    refused(orders, 504)

    assert count_rows(app, "orders") == 0


def test_refused_connection_is_502(orders: Orders, upstream: responses.RequestsMock) -> None:
    answer(upstream, body=requests.exceptions.ConnectionError("connection refused"))

    refused(orders, 502)


@pytest.mark.parametrize(
    "response",
    [
        pytest.param({"body": "<html>oops</html>", "content_type": "text/html"}, id="not JSON"),
        pytest.param({"json": ["1.00", "EUR"]}, id="not an object"),
        pytest.param({"json": {"currency": "EUR"}}, id="no price"),
        pytest.param({"json": {"unit_price": "1.00"}}, id="no currency"),
        pytest.param({"json": {"unit_price": "cheap", "currency": "EUR"}}, id="price not a number"),
        pytest.param({"json": {"unit_price": "-5.00", "currency": "EUR"}}, id="price negative"),
        pytest.param({"json": {"unit_price": "0", "currency": "EUR"}}, id="price zero"),
        pytest.param({"json": {"unit_price": "NaN", "currency": "EUR"}}, id="price NaN"),
        pytest.param({"json": {"unit_price": "1.234", "currency": "EUR"}}, id="price below a cent"),
        pytest.param({"json": {"unit_price": "1e20", "currency": "EUR"}}, id="price too large"),
        pytest.param({"json": {"unit_price": True, "currency": "EUR"}}, id="price a boolean"),
        pytest.param({"json": {"unit_price": "1.00", "currency": None}}, id="currency null"),
        pytest.param({"json": {"unit_price": "1.00", "currency": "EURO"}}, id="currency too long"),
    ],
)
def test_a_malformed_price_is_502(
    app: Flask, orders: Orders, upstream: responses.RequestsMock, response: dict[str, Any]
) -> None:
    answer(upstream, **response)

    refused(orders, 502)

    assert count_rows(app, "orders") == 0


def test_circuit_opens_after_repeated_failures_and_stops_calling_the_upstream(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    answer(upstream, status=500)
    for _ in range(PRICING_BREAKER_FAIL_MAX):
        refused(orders, 502)
    calls_before_open = len(upstream.calls)

    detail = refused(orders, 503)

    assert "try again later" in detail
    assert calls_before_open == PRICING_BREAKER_FAIL_MAX * (PRICING_RETRIES + 1)
    assert len(upstream.calls) == calls_before_open


def test_circuit_lets_a_trial_call_through_after_its_reset_time(
    make_app: MakeApp, upstream: responses.RequestsMock
) -> None:
    orders = Orders(make_app(PRICING_BREAKER_RESET_SECONDS=0.01).test_client())
    answer(upstream, status=500)
    for _ in range(PRICING_BREAKER_FAIL_MAX):
        orders.create()
    answer(upstream, json={"unit_price": "1.00", "currency": "EUR"})

    time.sleep(0.02)
    response = orders.create()

    assert response.status_code == 201
    assert len(upstream.calls) == 1


def test_an_invalid_order_is_rejected_before_the_upstream_is_asked(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    response = orders.create("not a sku!")

    assert response.status_code == 422
    assert len(upstream.calls) == 0


def test_a_retried_create_does_not_ask_for_the_price_again(
    orders: Orders, upstream: responses.RequestsMock
) -> None:
    first = orders.create(key="retry-me")
    calls_for_the_first = len(upstream.calls)

    again = orders.create(key="retry-me")

    assert (first.status_code, again.status_code) == (201, 200)
    assert len(upstream.calls) == calls_for_the_first == 1


HEALTH_URL = f"{PRICING_URL}/health"


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(responses.Response(responses.GET, HEALTH_URL, status=500), id="5xx"),
        pytest.param(responses.Response(responses.GET, HEALTH_URL, status=404), id="no endpoint"),
        pytest.param(
            responses.Response(responses.GET, HEALTH_URL, body=requests.ConnectionError("refused")),
            id="refused",
        ),
    ],
)
def test_readiness_stays_200_and_reports_pricing_degraded_when_it_fails(
    app: Flask, upstream: responses.RequestsMock, failure: responses.Response
) -> None:
    upstream.reset()
    upstream.add(failure)

    assert_degraded(app.test_client(), "pricing")
    # Once: readiness does not go through the retries a price lookup has.
    assert [call.request.url for call in upstream.calls] == [HEALTH_URL]


def test_without_a_pricing_url_orders_are_priced_from_the_embedded_list(
    make_app: MakeApp, upstream: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        client = make_app(PRICING_URL=None).test_client()
    orders = Orders(client)

    created = orders.create("SKU-2", 3)
    unknown = orders.create("SKU-404")
    ready = client.get("/readyz")

    assert created.status_code == 201, created.get_data(as_text=True)
    assert (created.get_json()["unit_price"], created.get_json()["total"]) == ("3.99", "11.97")
    assert unknown.status_code == 422
    assert ready.get_json()["checks"]["pricing"] == "embedded"
    assert len(upstream.calls) == 0  # no HTTP call at all
    assert any("embedded price list" in record.getMessage() for record in caplog.records)


@each_unset_value
def test_the_production_configuration_refuses_to_start_without_a_pricing_url(
    make_app: MakeApp, unset: str | None
) -> None:
    with pytest.raises(MissingSetting, match=r"^FLASK_PRICING_URL is not set: "):
        make_app(PRICING_URL=unset, EMBEDDED_DEFAULTS=False)


def test_total_is_exact_to_the_cent(orders: Orders, upstream: responses.RequestsMock) -> None:
    upstream.reset()
    upstream.add(
        responses.GET, f"{PRICING_URL}/prices/CHEAP", json={"unit_price": "0.10", "currency": "EUR"}
    )

    order = orders.create("CHEAP", 3).get_json()

    assert (order["unit_price"], order["total"]) == ("0.10", "0.30")


def test_a_price_sent_by_the_client_is_refused(app: Flask) -> None:
    body = {**order_body(), "unit_price": "1.00"}

    assert_invalid_field(app, app.test_client(), body, "unit_price")


def test_prices_are_fetched_side_by_side_never_one_at_a_time(
    app: Flask, upstream: responses.RequestsMock
) -> None:
    # Each answer waits until all are asked: calls made one at a time would never all meet.
    callers = 4
    together = threading.Barrier(callers, timeout=5)

    def answer(_request: Any) -> tuple[int, dict[str, str], str]:
        together.wait()
        return 200, {}, json.dumps({"unit_price": UNIT_PRICE, "currency": CURRENCY})

    upstream.reset()
    upstream.add_callback(responses.GET, re.compile(rf"{PRICING_URL}/prices/[^/]+"), answer)
    client = wiring.of(app).prices
    assert isinstance(client, pricing.PricingClient)
    with ThreadPoolExecutor(max_workers=callers) as requests_in_flight:
        prices = list(requests_in_flight.map(client.price_of, ["SKU-1"] * callers))

    assert {str(price.unit_price) for price in prices} == {UNIT_PRICE}


@each_of_two_turns
def test_each_test_finds_the_circuit_closed_and_may_open_it(
    orders: Orders, upstream: responses.RequestsMock, turn: str
) -> None:
    assert orders.create(turn).status_code == 201
    answer(upstream, status=500)
    for _ in range(PRICING_BREAKER_FAIL_MAX):
        refused(orders, 502)

    assert "try again later" in refused(orders, 503)
