"""The orders resource: create, read, list, cancel.

It names none of the optional dependencies: they join in through what they registered with the
app's wiring (``wiring.Wiring``): the price source, the reader, the confinement, and the hooks run
when a change is stored and once it is committed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import db, wiring
from .access import READ, WRITE, requires
from .models import CANCELLED, CREATED, Order
from .problems import Problem
from .schemas import MAX_ID, OrderPageOut, PageQuery

bp = Blueprint("orders", __name__, url_prefix="/orders")
IDEMPOTENCY_HEADER = "Idempotency-Key"
Model = TypeVar("Model", bound=BaseModel)


@bp.post("")
@requires(WRITE)
def create_order() -> tuple[Response, int, dict[str, str]]:
    wired = wiring.of(current_app)
    source = wired.price_source()
    new = _validated(source.request_model, _json_object())
    key = _idempotency_key()
    if key and (existing := _order_by_idempotency_key(key)) is not None:
        return jsonify(existing.to_dict()), 200, {"Location": _location(existing)}
    price = source.price_for(new)
    order = Order(
        sku=new.sku,
        quantity=new.quantity,
        unit_price=price.unit_price,
        currency=price.currency,
        idempotency_key=key,
    )
    order.change_status(CREATED)
    session = db.session()
    session.add(order)
    try:
        session.flush()
        wired.recorded(session, order, CREATED)
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = _order_by_idempotency_key(key) if key else None
        if winner is None:
            raise
        return jsonify(winner.to_dict()), 200, {"Location": _location(winner)}
    wired.committed(session, order, CREATED)
    return jsonify(order.to_dict()), 201, {"Location": _location(order)}


@bp.get("/<int:order_id>")
@requires(READ)
def get_order(order_id: int) -> Response:
    read = wiring.of(current_app).reader
    return jsonify(read(order_id, lambda: _existing_order(order_id).to_dict()))


@bp.get("")
@requires(READ)
def list_orders() -> Response:
    page = _validated(PageQuery, request.args.to_dict())
    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)
    query = _confinement().narrowed(query)
    orders = db.session().scalars(query).all()
    next_after = orders[-1].id if len(orders) == page.limit else None
    page_out = OrderPageOut(items=[order.out() for order in orders], next_after=next_after)
    return jsonify(page_out.model_dump())


@bp.post("/<int:order_id>/cancel")
@requires(WRITE)
def cancel_order(order_id: int) -> Response:
    order = _existing_order(order_id)
    if order.status == CANCELLED:
        raise Problem(409, "Conflict", f"Order {order_id} is already cancelled.")
    order.change_status(CANCELLED)
    session = db.session()
    wired = wiring.of(current_app)
    try:
        wired.recorded(session, order, CANCELLED)
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Problem(409, "Conflict", f"Order {order_id} was changed meanwhile; retry.") from None
    wired.committed(session, order, CANCELLED)
    return jsonify(order.to_dict())


def _confinement() -> wiring.Confinement:
    return wiring.of(current_app).confinement


def _existing_order(order_id: int) -> Order:
    """The order, if the caller may see it: another caller's answers 404 as an unknown one does,
    so that ids cannot be probed."""
    query = _confinement().narrowed(sa.select(Order).where(Order.id == order_id))
    order = db.session().scalars(query).one_or_none() if order_id <= MAX_ID else None
    if order is None:
        raise Problem(404, "Not Found", f"No order {order_id}.")
    return order


def _order_by_idempotency_key(key: str) -> Order | None:
    query = _confinement().narrowed(sa.select(Order).where(Order.idempotency_key == key))
    return db.session().scalars(query).one_or_none()


def _idempotency_key() -> str | None:
    """The request's Idempotency-Key as stored: the caller's own key. Another caller's equal key
    is another key, so that no caller can take a key from another or learn which are taken. A
    digest of both (64 hexadecimal digits): it fits the column whatever the caller's name, and
    compares exactly on every database, whatever its collation."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 64:
        raise Problem(400, "Bad Request", f"{IDEMPOTENCY_HEADER} must be 1 to 64 characters.")
    owned = json.dumps([_confinement().viewer(), key])
    return hashlib.sha256(owned.encode()).hexdigest()


def _location(order: Order) -> str:
    return url_for("orders.get_order", order_id=order.id)


def _json_object() -> Any:
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported Media Type", "Send the body as application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: not an order either
        body = None
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
