"""The service itself, through every dependency of the stack: an order created, stored and read
back; ids beyond any column's range answered, not failed; the service restarted, or killed, while
taking orders, losing none it acknowledged."""

from __future__ import annotations

import time

from tests.e2e.client import Service, load
from tests.e2e.outages import assert_each_accepted_order_stored_once
from tests.e2e.stack import APP, BOUND_SECONDS, Query, Stack


def test_an_order_is_created_stored_and_read_back(service: Service, database_query: Query) -> None:
    created = service.create(key="e2e-happy-path")

    assert created.status == 201, created
    assert created.seconds < BOUND_SECONDS
    order = created.body
    read = service.get(f"/orders/{order['id']}")
    again = service.get(f"/orders/{order['id']}")  # through the cache, where there is one
    assert (read.status, read.body) == (200, order)
    assert (again.status, again.body) == (200, order)
    stored = database_query(
        "SELECT id, sku, quantity FROM orders WHERE idempotency_key = 'e2e-happy-path'"
    )
    assert stored == [[str(order["id"]), order["sku"], str(order["quantity"])]]


def test_ids_beyond_32_bits_are_answered_not_failed(service: Service) -> None:
    assert service.get("/orders/113916546325").status == 404
    page = service.get("/orders?after=23401083100")
    assert (page.status, page.body) == (200, {"items": [], "next_after": None})


def test_a_restart_while_taking_orders_loses_none_acknowledged(
    stack: Stack, service: Service, database_query: Query
) -> None:
    with load(service, "app restarted") as done:
        time.sleep(0.5)
        stack.restart(APP)

    assert not [a for a in done.all() if a.status >= 500], done.summary()
    assert_each_accepted_order_stored_once(done, database_query)


def test_a_killed_service_loses_no_order_it_acknowledged(
    stack: Stack, service: Service, database_query: Query
) -> None:
    with load(service, "app killed") as done:
        time.sleep(0.5)
        stack.kill(APP)
        stack.start(APP)

    assert not [a for a in done.all() if a.status >= 500], done.summary()
    assert_each_accepted_order_stored_once(done, database_query)
