"""The orders resource: create, read, list, cancel.

It names none of the optional dependencies. They join in through what they register:

- a price source (``register_prices``): where a new order's unit price comes from, and which
  request model it needs;
- a reader (``register_reader``): how an order document is read, such as through a cache;
- a confinement (``register_confinement``): which orders the caller of a request may see and
  change, such as its own; without one, every caller sees every order;
- the signals ``order_recorded`` (inside the transaction that stores a change: whatever a receiver
  adds to the session is committed with the order, or not at all) and ``order_committed`` (after
  the commit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from blinker import Namespace
from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import db
from .models import CANCELLED, CREATED, Order
from .problems import Problem
from .schemas import MAX_ID, NewOrder, OrderPageOut, PageQuery

bp = Blueprint("orders", __name__, url_prefix="/orders")
IDEMPOTENCY_HEADER = "Idempotency-Key"
PRICES = "{{ cookiecutter.package_name }}.orders.prices"
READER = "{{ cookiecutter.package_name }}.orders.reader"
CONFINEMENT = "{{ cookiecutter.package_name }}.orders.confinement"
Model = TypeVar("Model", bound=BaseModel)
Document = dict[str, Any]

_signals = Namespace()
order_recorded = _signals.signal("order-recorded")
order_committed = _signals.signal("order-committed")


@dataclass(frozen=True)
class Price:
    unit_price: Decimal
    currency: str


class PriceSource(Protocol):
    """Where new orders get their price."""

    @property
    def request_model(self) -> type[NewOrder]:
        """What ``POST /orders`` accepts (the OpenAPI document shows it)."""
        ...

    @property
    def problems(self) -> dict[int, str]:
        """The statuses ``POST /orders`` may answer when its price cannot be had, documented."""
        ...

    def price_for(self, new: NewOrder) -> Price: ...


class Confinement(Protocol):
    """Which orders the caller of the current request may see and change."""

    def narrowed(self, query: sa.Select[Order]) -> sa.Select[Order]:
        """``query`` restricted to those orders."""
        ...

    def viewer(self) -> str:
        """Who the caller is, as far as what it may see goes: an order document kept for one
        viewer (a cache entry) is never served to another."""
        ...

    def event_fields(self) -> dict[str, str]:
        """What the events of the caller's changes add to the order's document (whose it is)."""
        ...


class Everyone:
    """Without a confinement: every caller sees every order, alike."""

    def narrowed(self, query: sa.Select[Order]) -> sa.Select[Order]:
        return query

    def viewer(self) -> str:
        return ""

    def event_fields(self) -> dict[str, str]:
        return {}


# Reads an order's document; given the id and the database read, which it may avoid.
Reader = Callable[[int, Callable[[], Document]], Document]


def register_prices(app: Flask, source: PriceSource) -> None:
    app.extensions[PRICES] = source


def register_reader(app: Flask, reader: Reader) -> None:
    app.extensions[READER] = reader


def register_confinement(app: Flask, confinement: Confinement) -> None:
    app.extensions[CONFINEMENT] = confinement


def confinement() -> Confinement:
    chosen: Confinement = current_app.extensions.get(CONFINEMENT, Everyone())
    return chosen


def prices() -> PriceSource:
    source: PriceSource = current_app.extensions[PRICES]
    return source


def _read_from_database(_order_id: int, load: Callable[[], Document]) -> Document:
    return load()


@bp.post("")
def create_order() -> tuple[Response, int, dict[str, str]]:
    source = prices()
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
        order_recorded.send(_app(), session=session, order=order, change=CREATED)
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = _order_by_idempotency_key(key) if key else None
        if winner is None:
            raise
        return jsonify(winner.to_dict()), 200, {"Location": _location(winner)}
    order_committed.send(_app(), session=session, order=order, change=CREATED)
    return jsonify(order.to_dict()), 201, {"Location": _location(order)}


@bp.get("/<int:order_id>")
def get_order(order_id: int) -> Response:
    reader: Reader = current_app.extensions.get(READER, _read_from_database)
    return jsonify(reader(order_id, lambda: _existing_order(order_id).to_dict()))


@bp.get("")
def list_orders() -> Response:
    page = _validated(PageQuery, request.args.to_dict())
    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)
    query = confinement().narrowed(query)
    orders = db.session().scalars(query).all()
    next_after = orders[-1].id if len(orders) == page.limit else None
    page_out = OrderPageOut(items=[order.out() for order in orders], next_after=next_after)
    return jsonify(page_out.model_dump())


@bp.post("/<int:order_id>/cancel")
def cancel_order(order_id: int) -> Response:
    order = _existing_order(order_id)
    if order.status == CANCELLED:
        raise Problem(409, "Conflict", f"Order {order_id} is already cancelled.")
    order.change_status(CANCELLED)
    session = db.session()
    try:
        order_recorded.send(_app(), session=session, order=order, change=CANCELLED)
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Problem(409, "Conflict", f"Order {order_id} was changed meanwhile; retry.") from None
    order_committed.send(_app(), session=session, order=order, change=CANCELLED)
    return jsonify(order.to_dict())


def _app() -> Flask:
    """The app itself, the sender receivers were connected for (``current_app`` is a proxy)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _existing_order(order_id: int) -> Order:
    """The order, if the caller may see it: another caller's answers 404 as an unknown one does,
    so that ids cannot be probed."""
    query = confinement().narrowed(sa.select(Order).where(Order.id == order_id))
    order = db.session().scalars(query).one_or_none() if order_id <= MAX_ID else None
    if order is None:
        raise Problem(404, "Not Found", f"No order {order_id}.")
    return order


def _order_by_idempotency_key(key: str) -> Order | None:
    query = confinement().narrowed(sa.select(Order).where(Order.idempotency_key == key))
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
    owned = json.dumps([confinement().viewer(), key])
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
