"""Prices named by the client: the request carries the unit price and currency of each order."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from flask import Flask
from pydantic import BeforeValidator, Field
from pydantic.json_schema import WithJsonSchema

from .. import wiring
from ..schemas import Currency, NewOrder
from ..wiring import Price

# A positive amount of at most ten digits and two decimals, without leading zeros: what the
# document promises is exactly what is accepted.
AMOUNT_PATTERN = r"^(?:[1-9][0-9]{0,9}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"


def _decimal_string(value: object) -> object:
    # A JSON number is a binary float: cents would be lost before validation sees them.
    if not isinstance(value, str) or not re.fullmatch(AMOUNT_PATTERN, value):
        raise ValueError('must be a positive decimal string such as "12.50"')
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(gt=0, max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN}),
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
    wiring.of(app).prices = PriceInRequest()
