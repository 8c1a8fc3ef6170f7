"""The orders resource: create, read (through the cache when there is one), list, cancel."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request, url_for
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import (
{%- if cookiecutter.cache == "redis" %}
    cache,
{%- endif %}
    db,
{%- if cookiecutter.message_broker == "rabbitmq" %}
    events,
{%- endif %}
{%- if cookiecutter.upstream_api == "yes" %}
    pricing,
{%- endif %}
)
from .models import CANCELLED, CREATED, Order
from .problems import Problem
from .schemas import MAX_ID, NewOrder, PageQuery

bp = Blueprint("orders", __name__, url_prefix="/orders")
IDEMPOTENCY_HEADER = "Idempotency-Key"
Model = TypeVar("Model", bound=BaseModel)


@bp.post("")
def create_order() -> tuple[Response, int, dict[str, str]]:
    new = _validated(NewOrder, _json_object())
    key = _idempotency_key()
    if key and (existing := _order_by_idempotency_key(key)) is not None:
        return jsonify(existing.to_dict()), 200, {"Location": _location(existing)}
{%- if cookiecutter.upstream_api == "yes" %}
    price = pricing.client().price_of(new.sku)
    unit_price, currency = price.unit_price, price.currency
{%- else %}
    unit_price, currency = new.unit_price, new.currency
{%- endif %}
    order = Order(
        sku=new.sku,
        quantity=new.quantity,
        unit_price=unit_price,
        currency=currency,
        idempotency_key=key,
    )
    order.change_status(CREATED)
    session = db.session()
    session.add(order)
    try:
        session.flush()
{%- if cookiecutter.message_broker == "rabbitmq" %}
        # Same transaction as the order: the event is kept even when the broker is down.
        events.record(session, "order.created", order.to_dict())
{%- endif %}
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = _order_by_idempotency_key(key) if key else None
        if winner is None:
            raise
        return jsonify(winner.to_dict()), 200, {"Location": _location(winner)}
{%- if cookiecutter.message_broker == "rabbitmq" %}
    events.publisher().relay(session)
{%- endif %}
    return jsonify(order.to_dict()), 201, {"Location": _location(order)}


@bp.get("/<int:order_id>")
def get_order(order_id: int) -> Response:
{%- if cookiecutter.cache == "redis" %}
    orders_cache = cache.order_cache()
    cached = orders_cache.get(order_id)
    if cached is not None:
        return jsonify(cached)
    document = _existing_order(order_id).to_dict()
    orders_cache.put(order_id, document)
    return jsonify(document)
{%- else %}
    return jsonify(_existing_order(order_id).to_dict())
{%- endif %}


@bp.get("")
def list_orders() -> Response:
    page = _validated(PageQuery, request.args.to_dict())
    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)
    orders = db.session().scalars(query).all()
    next_after = orders[-1].id if len(orders) == page.limit else None
    return jsonify({"items": [order.to_dict() for order in orders], "next_after": next_after})


@bp.post("/<int:order_id>/cancel")
def cancel_order(order_id: int) -> Response:
    order = _existing_order(order_id)
    if order.status == CANCELLED:
        raise Problem(409, "Conflict", f"Order {order_id} is already cancelled.")
    order.change_status(CANCELLED)
    session = db.session()
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Problem(409, "Conflict", f"Order {order_id} was changed meanwhile; retry.") from None
{%- if cookiecutter.cache == "redis" %}
    cache.order_cache().invalidate(order_id)
{%- endif %}
    return jsonify(order.to_dict())


def _existing_order(order_id: int) -> Order:
    order = db.session().get(Order, order_id) if order_id <= MAX_ID else None
    if order is None:
        raise Problem(404, "Not Found", f"No order {order_id}.")
    return order


def _order_by_idempotency_key(key: str) -> Order | None:
    query = sa.select(Order).where(Order.idempotency_key == key)
    return db.session().scalars(query).one_or_none()


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 1 <= len(key) <= 64:
        raise Problem(400, "Bad Request", f"{IDEMPOTENCY_HEADER} must be 1 to 64 characters.")
    return key


def _location(order: Order) -> str:
    return url_for("orders.get_order", order_id=order.id)


def _json_object() -> Any:
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported Media Type", "Send the body as application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "Bad Request", "The body is not a JSON object.")
    return body


def _validated(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Problem(
            422,
            "Unprocessable Content",
            "The request has invalid fields.",
            errors=[
                {"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"]}
                for e in error.errors()
            ],
        ) from None
