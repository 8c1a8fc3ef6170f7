"""The storefront's pact with the orders service: it places, reads, lists and cancels orders, and
copes with an order that does not exist. Its client is checked against this pact by
``consumers/test_storefront.py``; the service honours it in ``test_orders_provider.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pact import Pact, match

from tests.support.api import PRICE_FIELDS
from tests.support.contract import SERVICE, Credentials, write_pact

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["storefront_pact_file"]

CONSUMER = "storefront"
ORDER_ID = 42
MISSING_ID = 404404
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


def an_order(status: str, **fields: Any) -> dict[str, Any]:
    """What the storefront reads of an order: these fields, of these shapes."""
    return {
        "id": match.int(ORDER_ID),
        "sku": match.str("SKU-1"),
        "quantity": match.int(2),
        "unit_price": match.regex("12.50", regex=DECIMAL),
        "total": match.regex("25.00", regex=DECIMAL),
        "currency": match.regex("EUR", regex=r"^[A-Z]{3}$"),
        "status": status,
        "created_at": match.regex("2026-01-01T12:00:00+00:00", regex=TIMESTAMP),
        **fields,
    }


def storefront_pact(credentials: dict[str, Any]) -> Pact:
    """The pact; each request carries ``credentials`` (headers, as Pact matches them)."""
    pact = Pact(CONSUMER, SERVICE).with_specification("V4")
    (
        pact.upon_receiving("a request to place an order")
        .given("SKU-1 can be ordered")
        .with_request("POST", "/orders")
        .with_headers(credentials)
        .with_body({"sku": "SKU-1", "quantity": 2, **PRICE_FIELDS}, content_type="application/json")
        .will_respond_with(201)
        .with_header("Location", match.regex(f"/orders/{ORDER_ID}", regex=r"^/orders/\d+$"))
        .with_body(an_order("created", sku="SKU-1", quantity=2), content_type="application/json")
    )
    (
        pact.upon_receiving("a request for an order")
        .given("an order exists", {"id": ORDER_ID})
        .with_request("GET", f"/orders/{ORDER_ID}")
        .with_headers(credentials)
        .will_respond_with(200)
        .with_body(an_order("created", id=ORDER_ID), content_type="application/json")
    )
    (
        pact.upon_receiving("a request for an order that does not exist")
        .given("no order exists", {"id": MISSING_ID})
        .with_request("GET", f"/orders/{MISSING_ID}")
        .with_headers(credentials)
        .will_respond_with(404)
        .with_body(
            {"status": 404, "title": match.str("Not Found")},
            content_type="application/problem+json",
        )
    )
    (
        pact.upon_receiving("a request for a page of orders")
        .given("orders exist", {"count": 2})
        .with_request("GET", "/orders")
        .with_headers(credentials)
        .with_query_parameter("limit", "10")
        .will_respond_with(200)
        .with_body(
            {"items": match.each_like(an_order("created"), min=1)}, content_type="application/json"
        )
    )
    (
        pact.upon_receiving("a request to cancel an order")
        .given("an order exists", {"id": ORDER_ID})
        .with_request("POST", f"/orders/{ORDER_ID}/cancel")
        .with_headers(credentials)
        .will_respond_with(200)
        .with_body(an_order("cancelled", id=ORDER_ID), content_type="application/json")
    )
    return pact


@pytest.fixture(scope="session")
def storefront_pact_file(pact_dir: Path, credentials: Credentials) -> Path:
    return write_pact(storefront_pact(credentials.pact_headers), pact_dir)
