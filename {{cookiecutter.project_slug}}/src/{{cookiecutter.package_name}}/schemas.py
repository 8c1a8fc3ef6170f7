"""What the API accepts, checked by pydantic; the OpenAPI document is made from the same models."""

from __future__ import annotations
{% if cookiecutter.upstream_api == "no" %}
from decimal import Decimal
{%- endif %}
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class NewOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1000)]
{%- if cookiecutter.upstream_api == "no" %}
    # Decimal strings only: a JSON float would lose cents.
    unit_price: Annotated[
        Decimal, Field(gt=0, max_digits=12, decimal_places=2, json_schema_extra={"type": "string"})
    ]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
{%- endif %}


class PageQuery(BaseModel):
    """Keyset pagination: orders by id, ``after`` the last id of the previous page."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: Annotated[int, Field(ge=0)] = 0
