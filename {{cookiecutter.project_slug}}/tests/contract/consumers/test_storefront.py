"""The storefront's client against Pact's mock server of its pact (``pacts/storefront.py``): it
places, reads, lists and cancels orders, and copes with an order that does not exist. The provider
test (``tests/contract/test_orders_provider.py``) replays the same pact against the service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.consumers.storefront import OrderNotFound, StorefrontClient
from tests.contract.pacts.storefront import MISSING_ID, ORDER_ID, storefront_pact
from tests.support.api import PRICE_FIELDS
from tests.support.contract import LOOPBACK, Credentials


@pytest.fixture(scope="module")
def mock_service(credentials: Credentials) -> Iterator[StorefrontClient]:
    """The storefront's client against Pact's mock server of its pact; leaving the block checks
    that every interaction was called as specified (and fails the module otherwise)."""
    with storefront_pact(credentials.pact_headers).serve(addr=LOOPBACK) as server:
        yield StorefrontClient(str(server.url), headers=credentials.headers)


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
