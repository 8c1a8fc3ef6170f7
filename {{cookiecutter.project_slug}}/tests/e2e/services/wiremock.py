"""The virtual pricing upstream (WireMock) in the stack: its admin API published, through which a
scenario makes it slow, hung or failing; the service's client gets short timeouts and a circuit
that closes again quickly."""

from __future__ import annotations

import pytest

from tests.e2e.stack import APP, Override, Stack, free_ports
from tests.support import docker

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["pricing_url", "wiremock_override"]

SERVICE = "pricing"
PORT = 8080
# The service's client of the upstream, bounded short: what the scenarios wait out follows.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 0.5
RESET_SECONDS = 0.5
FAIL_MAX = 3


@pytest.fixture(scope="session")
def wiremock_override() -> Override:
    return {
        SERVICE: {
            "ports": [f"{docker.publish_address()}:{free_ports(1)[0]}:{PORT}"],
            # A delayed answer holds none of WireMock's request threads while it waits: a
            # scenario's slow or hung answers (tens at once) neither queue each other nor
            # outlast the scenario in the threads the next one needs.
            "command": ["--async-response-enabled", "true", "--container-threads", "100"],
        },
        APP: {
            "environment": {
                "FLASK_PRICING_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT),
                "FLASK_PRICING_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
                "FLASK_PRICING_RETRIES": "1",
                "FLASK_PRICING_BREAKER_FAIL_MAX": str(FAIL_MAX),
                "FLASK_PRICING_BREAKER_RESET_SECONDS": str(RESET_SECONDS),
            }
        },
    }


@pytest.fixture(scope="session")
def pricing_url(stack: Stack) -> str:
    return f"http://{docker.engine_host()}:{stack.port(SERVICE, PORT)}"
