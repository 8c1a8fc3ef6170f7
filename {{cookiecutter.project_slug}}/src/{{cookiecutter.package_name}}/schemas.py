"""What the API accepts and answers, as pydantic models: requests are validated with them, responses
are made with them, and the OpenAPI document is made from the same models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

# The largest id any supported database stores (SQLite's INTEGER, a BIGINT): a larger one in a
# request would make the driver fail before the query is sent.
MAX_ID = 2**63 - 1

# The example is a SKU that every price source and test double of a new project knows: a client,
# or a tool generating requests from the document, can order it.
Sku = Annotated[
    StrictStr,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", examples=["SKU-1"]),
]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


def _integral(value: object) -> object:
    # JSON has one number type: to JSON Schema (and so to the document) 2.0 is the integer 2.
    # Fractions, booleans and strings still fail the strict check that follows.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The validator is last so that it runs first, and the bounds stay JSON Schema keywords.
Quantity = Annotated[StrictInt, Field(ge=1, le=1000), BeforeValidator(_integral)]


class NewOrder(BaseModel):
    """What every new order names; a price source may ask for more (``orders.PriceSource``)."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Quantity


class PageQuery(BaseModel):
    """Keyset pagination: orders by id, ``after`` the last id of the previous page."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0


# --- What the API answers --------------------------------------------------------------------------

Status = Literal["created", "cancelled"]
AmountText = Annotated[
    str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", description="Decimal amount, two decimals")
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class StatusChangeOut(BaseModel):
    status: Status
    changed_at: Timestamp


class OrderOut(BaseModel):
    id: int
    sku: str
    quantity: int
    unit_price: AmountText
    total: AmountText
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    status: Status
    created_at: Timestamp
    history: list[StatusChangeOut]


class OrderPageOut(BaseModel):
    items: list[OrderOut]
    next_after: int | None
