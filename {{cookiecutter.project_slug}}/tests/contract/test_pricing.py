"""This service as the pricing service's consumer: ``PricingClient`` itself calls Pact's mock
server, and what it needs of the pricing service is written to ``pacts/`` (matchers, not literals:
any decimal string is a price, any three capitals a currency).

The WireMock stubs the integration layer uses are held to the same pact
(``test_wiremock_stubs.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pybreaker
import pytest
from pact import Pact, match

from {{ cookiecutter.package_name }}.dependencies.pricing import PricingClient, UnknownSku
from {{ cookiecutter.package_name }}.orders import Price
from {{ cookiecutter.package_name }}.problems import Problem

from .support import LOOPBACK, PACTS, SERVICE

PROVIDER = "pricing-service"
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
CURRENCY = r"^[A-Z]{3}$"

pytestmark = pytest.mark.writes_pact


def pricing_pact() -> Pact:
    """What this service needs of the pricing service, one interaction per answer it handles."""
    pact = Pact(SERVICE, PROVIDER).with_specification("V4")
    (
        pact.upon_receiving("a request for the price of a known SKU")
        .given("SKU-1 is priced")
        .with_request("GET", "/prices/SKU-1")
        .will_respond_with(200)
        .with_body(
            {
                "unit_price": match.regex("12.50", regex=DECIMAL),
                "currency": match.regex("EUR", regex=CURRENCY),
            },
            content_type="application/json",
        )
    )
    (
        pact.upon_receiving("a request for the price of an unknown SKU")
        .given("SKU unknown-1 is not priced")
        .with_request("GET", "/prices/unknown-1")
        .will_respond_with(404)
    )
    (
        pact.upon_receiving("a request for a price while the pricing service fails")
        .given("the pricing service is failing")
        .with_request("GET", "/prices/SKU-2")
        .will_respond_with(503)
    )
    (
        pact.upon_receiving("a health check")
        .given("the pricing service is up")
        .with_request("GET", "/health")
        .will_respond_with(200)
    )
    return pact


@pytest.fixture(scope="module")
def pricing_service() -> Iterator[str]:
    """Pact's mock server for the module's tests; the pact is written once every interaction was
    called as specified (leaving the block checks that, and fails the module otherwise)."""
    pact = pricing_pact()
    with pact.serve(addr=LOOPBACK) as server:
        yield str(server.url)
    pact.write_file(PACTS, overwrite=True)


def client(base_url: str) -> PricingClient:
    """The client as the service configures it, without waiting between retries."""
    return PricingClient(
        base_url,
        connect_timeout=1.0,
        read_timeout=2.0,
        retries=2,
        backoff=0,
        breaker=pybreaker.CircuitBreaker(fail_max=5, exclude=[UnknownSku]),
    )


def test_a_known_sku_has_a_decimal_unit_price_and_a_currency(pricing_service: str) -> None:
    price = client(pricing_service).price_of("SKU-1")

    assert price == Price(Decimal("12.50"), "EUR")


def test_an_unknown_sku_is_a_404_the_client_reports_as_422(pricing_service: str) -> None:
    with pytest.raises(UnknownSku) as raised:
        client(pricing_service).price_of("unknown-1")

    assert raised.value.status == 422


def test_a_failing_pricing_service_is_a_bad_gateway(pricing_service: str) -> None:
    with pytest.raises(Problem) as raised:
        client(pricing_service).price_of("SKU-2")

    assert raised.value.status == 502


def test_the_health_check_passes_on_a_200(pricing_service: str) -> None:
    client(pricing_service).check()
