"""The pricing service, for the unit layer: ``responses`` answers ``requests`` without a socket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from flask import Flask

from {{ cookiecutter.package_name }} import wiring
from {{ cookiecutter.package_name }}.dependencies.pricing import PricingClient
from tests.support.api import CURRENCY, UNIT_PRICE

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["fake_pricing_reset", "fake_pricing_service", "fake_pricing_settings", "upstream"]

PRICING_URL = "http://pricing.test"
PRICING_RETRIES = 2
PRICING_BREAKER_FAIL_MAX = 3


@pytest.fixture(scope="package")
def fake_pricing_service() -> Iterator[responses.RequestsMock]:
    """``requests`` answered in process for the layer's tests; what it answers is ``upstream``'s."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked


@pytest.fixture
def upstream(fake_pricing_service: responses.RequestsMock) -> responses.RequestsMock:
    """The pricing service: every SKU costs ``UNIT_PRICE`` EUR unless a test says otherwise, and no
    call made yet.

    Active in every test whose app is configured for it. A test that wants other answers calls
    ``upstream.reset()`` first (``responses`` would otherwise use each of two matching answers
    once)."""
    fake_pricing_service.reset()
    fake_pricing_service.add(
        responses.GET,
        re.compile(rf"{PRICING_URL}/prices/[^/]+"),
        json={"unit_price": UNIT_PRICE, "currency": CURRENCY},
    )
    fake_pricing_service.add(responses.GET, f"{PRICING_URL}/health", json={"status": "ok"})
    return fake_pricing_service


@pytest.fixture(scope="package")
def fake_pricing_settings(fake_pricing_service: responses.RequestsMock) -> dict[str, Any]:
    return {
        "PRICING_URL": PRICING_URL,
        "PRICING_RETRIES": PRICING_RETRIES,
        "PRICING_BACKOFF_SECONDS": 0,
        "PRICING_BREAKER_FAIL_MAX": PRICING_BREAKER_FAIL_MAX,
    }


@pytest.fixture
def fake_pricing_reset(upstream: responses.RequestsMock, shared_app: Flask) -> None:
    """Every test finds the upstream's usual answers and the shared app's circuit closed, its
    failures forgotten."""
    client = wiring.of(shared_app).prices
    assert isinstance(client, PricingClient)
    client.breaker.close()
