"""The pricing service, for the unit layer: ``responses`` answers ``requests`` without a socket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from tests.support.api import CURRENCY, UNIT_PRICE

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["fake_pricing_settings", "upstream"]

PRICING_URL = "http://pricing.test"
PRICING_RETRIES = 2
PRICING_BREAKER_FAIL_MAX = 3


@pytest.fixture
def upstream() -> Iterator[responses.RequestsMock]:
    """The pricing service: every SKU costs ``UNIT_PRICE`` EUR unless a test says otherwise.

    Active in every test whose app is configured for it. A test that wants other answers calls
    ``upstream.reset()`` first (``responses`` would otherwise use each of two matching answers
    once)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add(
            responses.GET,
            re.compile(rf"{PRICING_URL}/prices/[^/]+"),
            json={"unit_price": UNIT_PRICE, "currency": CURRENCY},
        )
        mocked.add(responses.GET, f"{PRICING_URL}/health", json={"status": "ok"})
        yield mocked


@pytest.fixture
def fake_pricing_settings(upstream: responses.RequestsMock) -> dict[str, Any]:
    return {
        "PRICING_URL": PRICING_URL,
        "PRICING_RETRIES": PRICING_RETRIES,
        "PRICING_BACKOFF_SECONDS": 0,
        "PRICING_BREAKER_FAIL_MAX": PRICING_BREAKER_FAIL_MAX,
    }
