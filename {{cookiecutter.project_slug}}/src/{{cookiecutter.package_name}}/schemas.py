"""What the API accepts, checked by pydantic; the OpenAPI document is made from the same models."""

from __future__ import annotations
{% if cookiecutter.upstream_api == "no" %}
from decimal import Decimal
{%- endif %}
from typing import Annotated

from pydantic import (
    BaseModel,
{%- if cookiecutter.upstream_api == "no" %}
    BeforeValidator,
{%- endif %}
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)
{%- if cookiecutter.upstream_api == "no" %}
from pydantic.json_schema import WithJsonSchema
{%- endif %}

# The largest id any supported database stores (SQLite's INTEGER, a BIGINT): a larger one in a
# request would make the driver fail before the query is sent.
MAX_ID = 2**63 - 1

Sku = Annotated[
    StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
{%- if cookiecutter.upstream_api == "no" %}


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
{%- endif %}


class NewOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)]
{%- if cookiecutter.upstream_api == "no" %}
    unit_price: Amount
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
{%- endif %}


class PageQuery(BaseModel):
    """Keyset pagination: orders by id, ``after`` the last id of the previous page."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
