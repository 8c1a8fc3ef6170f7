"""What this service needs of the pricing service, as a pact: matchers, not literals (any decimal
string is a price, any three capitals a currency). ``test_pricing.py`` runs the service's own
``PricingClient`` against it; the WireMock stubs of the integration layer are held to it
(``test_wiremock_stubs.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pact import Pact, match

from tests.support.contract import SERVICE, write_pact

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["pricing_pact_file"]

PROVIDER = "pricing-service"
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
CURRENCY = r"^[A-Z]{3}$"


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


@pytest.fixture(scope="session")
def pricing_pact_file(pact_dir: Path) -> Path:
    return write_pact(pricing_pact(), pact_dir)
