"""The Docker engine as the container layers reach it: docker-py's client configured by
testcontainers, where the ports it publishes are reached, Ryuk, and the label Ryuk removes things
by."""

from __future__ import annotations

import functools
from typing import Any

from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import Reaper
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID

LOOPBACK = "127.0.0.1"
# Every address of the engine's host: a remote engine's loopback is not this machine's.
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104 - only when the engine runs elsewhere (Docker-in-Docker)


@functools.cache
def engine_host() -> str:
    """Where a port the engine publishes is reached from here, found as testcontainers'
    ``get_container_host_ip`` finds it: this machine's loopback for a local engine, the engine's
    own host for one reached over TCP (``DOCKER_HOST=tcp://docker:2375``: a CI's ``docker:dind``
    service, whose published ports are bound inside that service's container)."""
    host = DockerClient().host()
    return LOOPBACK if host == "localhost" else host


def publish_address() -> str:
    """The host address to publish a port on: loopback only when the engine is on this machine
    (nobody else reaches it), every address of the engine's host when it is elsewhere."""
    return LOOPBACK if engine_host() == LOOPBACK else ALL_ADDRESSES


def session_labels() -> dict[str, str]:
    """The label testcontainers puts on everything of this process, which Ryuk removes after it:
    for what testcontainers does not start itself (a compose stack's services)."""
    return {LABEL_SESSION_ID: SESSION_ID}


def ensure_reaper() -> None:
    """Starts Ryuk for this process unless it is disabled (``TESTCONTAINERS_RYUK_DISABLED``).
    testcontainers starts it with the first container, but not safely from several threads at once,
    and not at all for a compose stack."""
    if not testcontainers_config.ryuk_disabled:
        Reaper.get_instance()


@functools.cache
def client() -> Any:
    """docker-py's client, configured from the environment by testcontainers (untyped: Any)."""
    return DockerClient().client
