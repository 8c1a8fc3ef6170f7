"""This service as the pricing service's consumer: ``PricingClient`` itself calls Pact's mock
server of the pricing pact (``pacts/pricing.py``), one interaction per answer it handles. The
WireMock stubs the integration layer uses are held to the same pact (``test_wiremock_stubs.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pybreaker
import pytest

from {{ cookiecutter.package_name }}.dependencies.pricing import PricingClient, UnknownSku
from {{ cookiecutter.package_name }}.problems import Problem
from {{ cookiecutter.package_name }}.wiring import Price
from tests.contract.pacts.pricing import pricing_pact
from tests.support.contract import LOOPBACK


@pytest.fixture(scope="module")
def pricing_service() -> Iterator[str]:
    """Pact's mock server of the pricing pact for the module's tests; leaving the block checks that
    every interaction was called as specified (and fails the module otherwise)."""
    with pricing_pact().serve(addr=LOOPBACK) as server:
        yield str(server.url)


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
    client(pricing_service).check(1.0)
