"""The client names the price: exact decimals, validated."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.api import order_body
from tests.support.apps import assert_invalid_field

INVALID_PRICES: list[tuple[str, dict[str, Any], str]] = [
    ("no unit price", {"sku": "SKU-1", "quantity": 1}, "unit_price"),
    ("price a JSON number", {**order_body(), "unit_price": 12.5}, "unit_price"),
    ("price zero", {**order_body(), "unit_price": "0"}, "unit_price"),
    ("price negative", {**order_body(), "unit_price": "-1.00"}, "unit_price"),
    ("price below a cent", {**order_body(), "unit_price": "12.345"}, "unit_price"),
    ("price too large", {**order_body(), "unit_price": "12345678901.00"}, "unit_price"),
    ("price not a number", {**order_body(), "unit_price": "abc"}, "unit_price"),
    ("price NaN", {**order_body(), "unit_price": "NaN"}, "unit_price"),
    ("price infinite", {**order_body(), "unit_price": "Infinity"}, "unit_price"),
    ("currency lower case", {**order_body(), "currency": "eur"}, "currency"),
    ("currency too long", {**order_body(), "currency": "EURO"}, "currency"),
    ("currency a number", {**order_body(), "currency": 978}, "currency"),
]


def test_total_is_exact_to_the_cent(client: FlaskClient) -> None:
    body = {"sku": "CHEAP", "quantity": 3, "unit_price": "0.10", "currency": "EUR"}

    order = client.post("/orders", json=body).get_json()

    assert (order["unit_price"], order["total"]) == ("0.10", "0.30")


def test_the_currency_defaults_to_euro(client: FlaskClient) -> None:
    body = {"sku": "SKU-1", "quantity": 1, "unit_price": "2.00"}

    response = client.post("/orders", json=body)

    assert response.status_code == 201
    assert response.get_json()["currency"] == "EUR"


@pytest.mark.parametrize(
    ("body", "field"),
    [pytest.param(body, field, id=name) for name, body, field in INVALID_PRICES],
)
def test_an_invalid_price_is_422_naming_it(
    app: Flask, client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    assert_invalid_field(app, client, body, field)
