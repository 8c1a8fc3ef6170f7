"""The pricing service stubbed on loopback, answering as its pact's examples do: every SKU has the
price 12.50 EUR, except those named ``unknown-...`` (404), as the WireMock stubs do. The service's
own ``PricingClient`` calls it, so the contract layer exercises the real client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from tests.support.api import CURRENCY, UNIT_PRICE
from tests.support.contract import serving

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["stub_pricing_settings"]


def pricing_stub(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    path: str = environ["PATH_INFO"]
    if path == "/health":
        return _answer(start_response, "200 OK", {"status": "ok"})
    sku = path.removeprefix("/prices/")
    if path == sku or sku.startswith("unknown-"):
        return _answer(start_response, "404 Not Found", {"title": "Not Found", "status": 404})
    return _answer(start_response, "200 OK", {"unit_price": UNIT_PRICE, "currency": CURRENCY})


def _answer(start_response: Any, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


@pytest.fixture(scope="session")
def stub_pricing_settings() -> Iterator[dict[str, Any]]:
    with serving(pricing_stub) as url:
        # No retries (the stub does not fail); a generous read timeout for a loaded machine.
        yield {"PRICING_URL": url, "PRICING_RETRIES": 0, "PRICING_READ_TIMEOUT_SECONDS": 10.0}
