"""The layer's tests share one app: each finds it as built, whatever the test before it did to
its rows, its settings or its wiring."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from {{ cookiecutter.package_name }} import wiring
from {{ cookiecutter.package_name }}.models import Order
from tests.support.api import Orders, order_body
from tests.support.apps import count_rows, each_of_two_turns


@each_of_two_turns
def test_each_test_finds_no_orders_and_may_leave_one(app: Flask, orders: Orders, turn: str) -> None:
    assert count_rows(app, "orders") == 0

    assert orders.create(turn).status_code == 201


@each_of_two_turns
def test_each_test_finds_the_settings_as_built_and_may_change_them(
    app: Flask, orders: Orders, turn: str
) -> None:
    assert orders.client.post("/orders", json=order_body(turn)).status_code == 201

    app.config["MAX_CONTENT_LENGTH"] = 1

    assert orders.client.post("/orders", json=order_body(turn)).status_code == 413


@each_of_two_turns
def test_each_test_finds_the_wiring_as_built_and_may_add_to_it(
    app: Flask, orders: Orders, turn: str
) -> None:
    def refuse(_session: Session, _order: Order, _change: str) -> None:
        raise RuntimeError("a hook left behind by another test")

    assert orders.create(turn).status_code == 201

    wiring.of(app).on_recorded.append(refuse)

    assert orders.create(turn).status_code == 500
