"""What the API accepts, checked by pydantic; the OpenAPI document is made from the same models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

# The largest id any supported database stores (SQLite's INTEGER, a BIGINT): a larger one in a
# request would make the driver fail before the query is sent.
MAX_ID = 2**63 - 1

Sku = Annotated[
    StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class NewOrder(BaseModel):
    """What every new order names; a price source may ask for more (``orders.PriceSource``)."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)]


class PageQuery(BaseModel):
    """Keyset pagination: orders by id, ``after`` the last id of the previous page."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
