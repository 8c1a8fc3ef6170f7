"""The layer's own promise: nothing but loopback is reachable from it."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError

NEVER_ROUTED = ("192.0.2.1", 80)  # TEST-NET-1 (RFC 5737)


def test_a_connection_beyond_loopback_is_refused() -> None:
    # pytest-socket warns as it refuses: the warning is expected here, not an error.
    with (
        pytest.raises(SocketConnectBlockedError),
        pytest.warns(UserWarning, match=NEVER_ROUTED[0]),
    ):
        socket.create_connection(NEVER_ROUTED, timeout=0.5)
