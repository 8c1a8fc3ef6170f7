"""RabbitMQ in the stack: its AMQP port published, for a scenario to read what the service published
there; the relay polls often."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Override, Stack, free_ports
from tests.support import docker

# The fixtures, which the layer's conftest imports (``import *``).
__all__ = ["amqp_url", "rabbitmq_override"]

SERVICE = "rabbitmq"
AMQP_PORT = 5672
# The relays' bounds on the broker, short: a pass on a hung broker costs this, and an outage need
# last only a few of them; a relay looks for waiting events this often.
BROKER_TIMEOUT_SECONDS = 0.5
RELAY_INTERVAL_SECONDS = 0.1


@pytest.fixture(scope="session")
def rabbitmq_override() -> Override:
    return {
        SERVICE: {
            "ports": [f"{docker.publish_address()}:{free_ports(1)[0]}:{AMQP_PORT}"],
            # Checked every second: the stack's start and each restart wait on this check.
            "healthcheck": {"interval": "1s"},
        },
        "relay": {
            "environment": {
                "FLASK_BROKER_TIMEOUT_SECONDS": str(BROKER_TIMEOUT_SECONDS),
                "FLASK_BROKER_RELAY_INTERVAL_SECONDS": str(RELAY_INTERVAL_SECONDS),
            }
        },
    }


@pytest.fixture(scope="session")
def amqp_url(stack: Stack) -> str:
    broker = stack.config["services"][SERVICE]["environment"]
    user, password = broker["RABBITMQ_DEFAULT_USER"], broker["RABBITMQ_DEFAULT_PASS"]
    return f"amqp://{user}:{password}@{docker.engine_host()}:{stack.port(SERVICE, AMQP_PORT)}//"
