"""The service itself, through every dependency of the stack: an order created, stored and read
back; ids beyond any column's range answered, not failed; the service restarted, or killed, while
taking orders, losing none it acknowledged; and the service's own image, run by the stack without
its database setting, refusing to start rather than serve."""

from __future__ import annotations

import time

from tests.e2e.client import Service, assert_each_accepted_order_stored_once, load
from tests.e2e.stack import APP, BOUND_SECONDS, Query, Stack

# Its container starts and its server's processes import the service: seconds, not a health
# check's patience.
REFUSED_WITHIN_SECONDS = 15.0


def test_an_order_is_created_stored_and_read_back(service: Service, database_query: Query) -> None:
    created = service.create(key="e2e-happy-path")

    assert created.status == 201, created
    assert created.seconds < BOUND_SECONDS
    order = created.body
    read = service.get(f"/orders/{order['id']}")
    again = service.get(f"/orders/{order['id']}")  # through the cache, where there is one
    assert (read.status, read.body) == (200, order)
    assert (again.status, again.body) == (200, order)
    stored = database_query(f"SELECT id, sku, quantity FROM orders WHERE id = {int(order['id'])}")  # noqa: S608
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
        stack.container(APP).restart(timeout=10)
        stack.start(APP)  # returns once it is healthy again

    assert not [a for a in done.all() if a.status >= 500], done.summary()
    assert_each_accepted_order_stored_once(done, database_query)


def test_a_killed_service_loses_no_order_it_acknowledged(
    stack: Stack, service: Service, database_query: Query
) -> None:
    with load(service, "app killed") as done:
        time.sleep(0.5)
        stack.container(APP).kill()
        stack.start(APP)

    assert not [a for a in done.all() if a.status >= 500], done.summary()
    assert_each_accepted_order_stored_once(done, database_query)


def test_the_service_without_its_database_setting_refuses_to_start(stack: Stack) -> None:
    # The stack's own service, as compose runs it, but its database setting left empty.
    began = time.monotonic()
    ran = stack.run_once("--env", "FLASK_DATABASE_URL=", APP)
    took, output = time.monotonic() - began, ran.stdout + ran.stderr

    assert ran.returncode != 0, f"the service ran on without FLASK_DATABASE_URL: {output}"
    assert "FLASK_DATABASE_URL" in output, output
    assert took < REFUSED_WITHIN_SECONDS, output
