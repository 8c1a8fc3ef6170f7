"""The database server of the stack made unavailable while orders are being created: paused (it
accepts connections and answers nothing), stopped and started, disconnected from the network and
reconnected. Every request answers within the bound (a 503 problem when it needs the database),
never a 500 or a hang, and the service recovers without a restart."""

from __future__ import annotations

import pytest

from tests.e2e.client import Service
from tests.e2e.outages import FAULTS, assert_database_outage_is_bounded_and_recovers
from tests.e2e.stack import Query, Stack


@pytest.mark.parametrize("kind", FAULTS)
def test_a_database_outage_is_a_bounded_503_and_recovers_without_restart(
    kind: str, stack: Stack, service: Service, database_service: str, database_query: Query
) -> None:
    assert_database_outage_is_bounded_and_recovers(
        stack, service, database_service, database_query, kind
    )
