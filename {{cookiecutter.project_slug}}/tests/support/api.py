"""The orders API as a client calls it, whichever way the price is set; shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from {{ cookiecutter.package_name }} import wiring

# The unit price of every SKU the tests order (the price source's stand-in in each layer says it).
UNIT_PRICE = "12.50"
CURRENCY = "EUR"
{%- if cookiecutter.upstream_api == "no" %}
# The price is part of the order: the client names it.
PRICE_FIELDS: dict[str, str] = {"unit_price": UNIT_PRICE, "currency": CURRENCY}
{%- else %}
# The price comes from the pricing service; a client sends none.
PRICE_FIELDS: dict[str, str] = {}
{%- endif %}


def order_body(sku: str = "SKU-1", quantity: int = 2) -> dict[str, Any]:
    """A valid ``POST /orders`` body."""
    return {"sku": sku, "quantity": quantity, **PRICE_FIELDS}


@dataclass
class Orders:
    client: FlaskClient

    def create(self, sku: str = "SKU-1", quantity: int = 2, key: str | None = None) -> TestResponse:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.client.post("/orders", json=order_body(sku, quantity), headers=headers)

    def created_id(self, sku: str = "SKU-1", quantity: int = 2) -> int:
        order_id: int = self.created(sku, quantity)["id"]
        return order_id

    def created(self, sku: str = "SKU-1", quantity: int = 2) -> dict[str, Any]:
        """Creates an order and returns its document (the test fails unless it was created)."""
        response = self.create(sku, quantity)
        assert response.status_code == 201, response.get_data(as_text=True)
        document: dict[str, Any] = response.get_json()
        return document

    def get(self, order_id: int) -> TestResponse:
        return self.client.get(f"/orders/{order_id}")

    def announced(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order as its events announce it: its document, and what the orders' confinement
        adds for the client's caller."""
        app = self.client.application
        with app.test_request_context("/orders", environ_base=self.client.environ_base):
            app.preprocess_request()
            return {**order, **wiring.of(app).confinement.event_fields()}

    @property
    def viewer(self) -> str:
        """Who the requests are from, as the orders' confinement names it (whose entries a
        cache keeps apart)."""
        app = self.client.application
        with app.test_request_context("/orders", environ_base=self.client.environ_base):
            app.preprocess_request()
            return wiring.of(app).confinement.viewer()

    def cancel(self, order_id: int) -> TestResponse:
        return self.client.post(f"/orders/{order_id}/cancel")

    def page(self, **query: int) -> TestResponse:
        return self.client.get("/orders", query_string=query)
