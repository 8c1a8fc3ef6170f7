"""The Docker engine as the container layers reach it: docker-py's client configured by
testcontainers, Ryuk, and the label Ryuk removes things by."""

from __future__ import annotations

import functools
from typing import Any

from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import Reaper
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID


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
