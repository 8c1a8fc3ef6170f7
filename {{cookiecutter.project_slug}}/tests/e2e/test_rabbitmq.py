"""Events of the stack, seen on a queue of the test's own: exactly one ``order.created`` per order
created, published by the relay worker; with the broker stopped or cut off, orders are still
accepted at their usual latency, and once it is back every waiting event is published within a
few seconds without any further request, each order under one ``message_id`` (delivery is at
least once: a publish cut off by the broker going down may arrive again, under the same id)."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.client import Service
from tests.e2e.outages import outage_under_load
from tests.e2e.services.rabbitmq import EventQueue
from tests.e2e.stack import Stack

BROKER = "rabbitmq"
# Usual latency of a create, with margin for a loaded machine: the request never waits on the broker.
USUAL_SECONDS = 1.5
# How soon the waiting events must be out once the broker accepts connections again (the relay
# polls every 0.1 s here; the rest is the backlog itself, a few hundred events).
PUBLISHED_WITHIN_SECONDS = 3.0


def ids_and_message_ids(messages: list[Any]) -> tuple[list[int], list[str]]:
    return (
        [json.loads(message.body)["id"] for message in messages],
        [message.properties["message_id"] for message in messages],
    )


def test_an_order_is_announced_once(service: Service, event_queue: EventQueue) -> None:
    created = service.create()
    assert created.status == 201, created
    order = created.body

    messages = event_queue.take(1, timeout=3.0)

    assert [message.delivery_info["routing_key"] for message in messages] == ["order.created"]
    assert json.loads(messages[0].body) == order
    assert messages[0].properties["message_id"]


@pytest.mark.parametrize("kind", ["stopped", "disconnected"])
def test_orders_are_accepted_without_the_broker_and_announced_once_it_is_back(
    kind: str, stack: Stack, service: Service, event_queue: EventQueue
) -> None:
    with outage_under_load(stack, service, BROKER, kind) as done:
        event_queue.wait_accepting()
        back = time.monotonic()

    statuses = done.statuses()
    assert set(statuses) <= {200, 201}, done.summary()
    assert done.slowest() < USUAL_SECONDS, done.summary()
    accepted = sorted(set(done.accepted().values()))
    messages = event_queue.take(len(accepted), timeout=PUBLISHED_WITHIN_SECONDS)
    took = time.monotonic() - back
    ids, message_ids = ids_and_message_ids(messages)
    # Delivery is at least once: a publish the broker took but could not confirm as it went down
    # is published again, under the same message_id, which consumers deduplicate by. Once
    # deduplicated, every acknowledged order is announced exactly once, by one message_id.
    announced = dict(zip(message_ids, ids, strict=True))
    counts = Counter(announced.values())
    assert {order_id: counts[order_id] for order_id in accepted if counts[order_id] != 1} == {}, (
        f"after {took:.1f} s: {done.summary()}"
    )
    redelivered = len(message_ids) - len(announced)
    print(
        f"\n{BROKER} {kind}: {len(accepted)} events out {took:.2f} s after it accepted again"
        f" ({redelivered} redelivered)"
    )
