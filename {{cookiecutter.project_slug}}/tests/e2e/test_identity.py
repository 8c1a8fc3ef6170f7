"""The identity provider of the stack: a token of the stack's own key, minted as the README says,
orders and reads through the provider's stand-in; with the provider out (paused, stopped, cut off)
under load, callers whose tokens are signed by keys the service already fetched keep creating
orders, no answer is a 500 and none hangs; every accepted order is stored once."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.client import Service, assert_each_accepted_order_stored_once, outage_under_load
from tests.e2e.services.identity import LIFESPAN_SECONDS, SERVICE, minted_token
from tests.e2e.stack import Query, Stack
from tests.support.tokens import bearer


def test_a_token_minted_as_the_readme_says_orders_and_reads_its_order(
    stack: Stack, service: Service
) -> None:
    subject = f"readme-{uuid.uuid4().hex[:8]}"
    caller = Service(service.urls, bearer(minted_token(stack, subject)))

    created = caller.create()

    assert created.status == 201, created
    shown = caller.get(f"/orders/{created.body['id']}")
    listed = caller.get("/orders")
    assert (shown.status, shown.body) == (200, created.body)
    assert (listed.status, listed.body["items"]) == (200, [created.body]), listed
    # The session's caller, of the same provider, does not see it.
    assert service.get(f"/orders/{created.body['id']}").status == 404


@pytest.mark.parametrize("kind", ["paused", "stopped", "disconnected"])
def test_callers_with_known_keys_keep_ordering_through_a_provider_outage(
    stack: Stack, service: Service, database_query: Query, kind: str
) -> None:
    with outage_under_load(stack, service, SERVICE, kind, seconds=LIFESPAN_SECONDS * 3) as done:
        pass

    done.assert_bounded()
    assert set(done.statuses()) == {201}, done.summary()
    during = done.during_fault()
    assert during, done.summary()
    assert {answer.status for answer in during} == {201}, done.summary()
    assert_each_accepted_order_stored_once(done, database_query)
