"""The identity provider of the stack out (paused, stopped, cut off) under load: callers whose
tokens are signed by keys the service already fetched keep creating orders, no answer is a 500
and none hangs; every accepted order is stored once."""

from __future__ import annotations

import pytest

from tests.e2e.client import Service
from tests.e2e.outages import FAULTS, assert_each_accepted_order_stored_once, outage_under_load
from tests.e2e.services.identity import LIFESPAN_SECONDS, SERVICE
from tests.e2e.stack import Query, Stack


@pytest.mark.parametrize("kind", FAULTS)
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
