"""Share pacts through a Pact Broker, when there is one: ``tox -e pact-publish``.

With ``PACT_BROKER_BASE_URL`` set, ``publish`` sends the pacts this service wrote as a consumer
(``pacts/<service>-*.json``, or in ``PACT_DIR``) and ``can-i-deploy`` asks the broker whether this version may go to
``PACT_ENVIRONMENT`` (default ``production``). Without it, nothing is sent and the pacts stay files.
The version and branch are ``PACT_VERSION`` and ``PACT_BRANCH``, else git's. Credentials reach the
broker CLI (pact-python-cli's ``pact broker``) through its own environment variables,
``PACT_BROKER_TOKEN`` or ``PACT_BROKER_USERNAME``/``PACT_BROKER_PASSWORD``: never on the command line.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tests.support.contract import DEFAULT_PACTS, SERVICE, pact_dir_from_environment

BROKER_BASE_URL = "PACT_BROKER_BASE_URL"
Runner = Callable[[list[str]], int]


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)  # noqa: S603, S607
    return done.stdout.strip()


def version(env: Mapping[str, str]) -> str:
    return env.get("PACT_VERSION") or git("rev-parse", "HEAD")


def branch(env: Mapping[str, str]) -> str:
    return env.get("PACT_BRANCH") or git("rev-parse", "--abbrev-ref", "HEAD")


def own_pacts(directory: Path) -> list[Path]:
    """The pacts in which this service is the consumer (the others belong to their consumers)."""
    return sorted(directory.glob(f"{SERVICE}-*.json"))


def publish_command(env: Mapping[str, str], pacts: Sequence[Path]) -> list[str]:
    return [
        "pact", "broker", "publish", *(str(path) for path in pacts),
        "--broker-base-url", env[BROKER_BASE_URL],
        "--consumer-app-version", version(env),
        "--branch", branch(env),
    ]  # fmt: skip


def can_i_deploy_command(env: Mapping[str, str]) -> list[str]:
    return [
        "pact", "broker", "can-i-deploy",
        "--broker-base-url", env[BROKER_BASE_URL],
        "--pacticipant", SERVICE,
        "--version", version(env),
        "--to-environment", env.get("PACT_ENVIRONMENT", "production"),
        # The providers' verification of a new pact may still be running: wait for it (up to two
        # minutes) rather than fail on "unknown".
        "--retry-while-unknown", "12", "--retry-interval", "10",
    ]  # fmt: skip


def _run(command: list[str]) -> int:
    return subprocess.run(command, check=False).returncode  # noqa: S603 - built above


def main(
    argv: Sequence[str], env: Mapping[str, str], run: Runner = _run, pacts: Path = DEFAULT_PACTS
) -> int:
    [action] = argv
    if not env.get(BROKER_BASE_URL):
        print(
            f"{BROKER_BASE_URL} is not set: no broker to {action}; the pacts stay files in {pacts}/"
        )
        return 0
    if action == "publish":
        found = own_pacts(pacts)
        if not found:
            print(f"no pact of {SERVICE} as a consumer in {pacts}/: nothing to publish")
            return 0
        return run(publish_command(env, found))
    if action == "can-i-deploy":
        return run(can_i_deploy_command(env))
    raise SystemExit(f"unknown action {action!r}: publish or can-i-deploy")


if __name__ == "__main__":
    import os

    sys.exit(main(sys.argv[1:], os.environ, pacts=pact_dir_from_environment() or DEFAULT_PACTS))
