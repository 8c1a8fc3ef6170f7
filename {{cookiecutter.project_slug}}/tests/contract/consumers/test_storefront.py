"""The storefront's pact with the orders service, written by the storefront's client itself running
against Pact's mock server: it places, reads, lists and cancels orders, and copes with an order
that does not exist. The provider test (``tests/contract/test_orders_provider.py``) replays it
against the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pact import Pact, match

from ...orders_api import PRICE_FIELDS
from ..support import LOOPBACK, PACTS, SERVICE
from .storefront import OrderNotFound, StorefrontClient

CONSUMER = "storefront"
ORDER_ID = 42
MISSING_ID = 404404
DECIMAL = r"^[0-9]+\.[0-9]{2}$"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"

pytestmark = pytest.mark.writes_pact


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


def storefront_pact() -> Pact:
    pact = Pact(CONSUMER, SERVICE).with_specification("V4")
    (
        pact.upon_receiving("a request to place an order")
        .given("SKU-1 can be ordered")
        .with_request("POST", "/orders")
        .with_body({"sku": "SKU-1", "quantity": 2, **PRICE_FIELDS}, content_type="application/json")
        .will_respond_with(201)
        .with_header("Location", match.regex(f"/orders/{ORDER_ID}", regex=r"^/orders/\d+$"))
        .with_body(an_order("created", sku="SKU-1", quantity=2), content_type="application/json")
    )
    (
        pact.upon_receiving("a request for an order")
        .given("an order exists", {"id": ORDER_ID})
        .with_request("GET", f"/orders/{ORDER_ID}")
        .will_respond_with(200)
        .with_body(an_order("created", id=ORDER_ID), content_type="application/json")
    )
    (
        pact.upon_receiving("a request for an order that does not exist")
        .given("no order exists", {"id": MISSING_ID})
        .with_request("GET", f"/orders/{MISSING_ID}")
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
        .will_respond_with(200)
        .with_body(an_order("cancelled", id=ORDER_ID), content_type="application/json")
    )
    return pact


@pytest.fixture(scope="module")
def mock_service() -> Iterator[StorefrontClient]:
    """The storefront's client against Pact's mock server; the pact is written once every
    interaction was called as specified."""
    pact = storefront_pact()
    with pact.serve(addr=LOOPBACK) as server:
        yield StorefrontClient(str(server.url))
    pact.write_file(PACTS, overwrite=True)


def test_placing_an_order_returns_it_created(mock_service: StorefrontClient) -> None:
    order = mock_service.place("SKU-1", 2, **PRICE_FIELDS)

    assert (order["sku"], order["quantity"], order["status"]) == ("SKU-1", 2, "created")


def test_an_order_is_read_by_its_id(mock_service: StorefrontClient) -> None:
    assert mock_service.order(ORDER_ID)["id"] == ORDER_ID


def test_an_order_that_does_not_exist_is_not_found(mock_service: StorefrontClient) -> None:
    with pytest.raises(OrderNotFound):
        mock_service.order(MISSING_ID)


def test_orders_are_listed_a_page_at_a_time(mock_service: StorefrontClient) -> None:
    orders = mock_service.orders(limit=10)

    assert orders
    assert all(order["status"] == "created" for order in orders)


def test_a_cancelled_order_says_so(mock_service: StorefrontClient) -> None:
    assert mock_service.cancel(ORDER_ID)["status"] == "cancelled"
