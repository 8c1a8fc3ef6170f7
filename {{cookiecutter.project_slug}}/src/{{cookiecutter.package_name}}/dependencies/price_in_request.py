"""Prices named by the client: the request carries the unit price and currency of each order."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from flask import Flask
from pydantic import BeforeValidator, Field
from pydantic.json_schema import WithJsonSchema

from ..orders import Price, register_prices
from ..schemas import Currency, NewOrder


def _decimal_string(value: object) -> object:
    # A JSON number is a binary float: cents would be lost before validation sees them.
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "12.50"')
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(gt=0, max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}),
]


class PricedNewOrder(NewOrder):
    unit_price: Amount
    currency: Currency = "EUR"


class PriceInRequest:
    request_model = PricedNewOrder
    problems: dict[int, str] = {}  # noqa: RUF012 - read only

    def price_for(self, new: NewOrder) -> Price:
        assert isinstance(new, PricedNewOrder)
        return Price(unit_price=new.unit_price, currency=new.currency)


def init_app(app: Flask) -> None:
    register_prices(app, PriceInRequest())
