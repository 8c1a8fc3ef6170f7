"""Sharing pacts through a broker: nothing leaves without ``PACT_BROKER_BASE_URL``; with it, the
broker CLI is called with a command line its own ``--help`` knows."""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.contract import broker
from tests.support.contract import SERVICE

ENV = {
    "PACT_BROKER_BASE_URL": "https://broker.example.test",
    "PACT_VERSION": "1a2b3c4",
    "PACT_BRANCH": "main",
}


class Recorder:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> int:
        self.commands.append(command)
        return 0


def write_pacts(directory: Path) -> list[Path]:
    own = directory / f"{SERVICE}-inventory.json"
    for path in (own, directory / f"storefront-{SERVICE}.json"):
        path.write_text("{}")
    return [own]


@pytest.mark.parametrize("action", ["publish", "can-i-deploy"])
def test_without_a_broker_nothing_is_sent(
    action: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pacts(tmp_path)
    run = Recorder()

    assert broker.main([action], {}, run=run, pacts=tmp_path) == 0

    assert run.commands == []
    assert "PACT_BROKER_BASE_URL is not set" in capsys.readouterr().out


def test_publish_sends_only_the_pacts_this_service_wrote_as_a_consumer(tmp_path: Path) -> None:
    own = write_pacts(tmp_path)
    run = Recorder()

    assert broker.main(["publish"], ENV, run=run, pacts=tmp_path) == 0

    assert run.commands == [
        ["pact", "broker", "publish", str(own[0]),
         "--broker-base-url", "https://broker.example.test",
         "--consumer-app-version", "1a2b3c4", "--branch", "main"],
    ]  # fmt: skip


def test_can_i_deploy_asks_for_this_version_and_environment() -> None:
    command = broker.can_i_deploy_command({**ENV, "PACT_ENVIRONMENT": "staging"})

    assert command == [
        "pact", "broker", "can-i-deploy",
        "--broker-base-url", "https://broker.example.test",
        "--pacticipant", SERVICE, "--version", "1a2b3c4", "--to-environment", "staging",
        "--retry-while-unknown", "12", "--retry-interval", "10",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [broker.publish_command(ENV, [Path("pacts/x.json")]), broker.can_i_deploy_command(ENV)],
    ids=["publish", "can-i-deploy"],
)
def test_the_broker_cli_knows_every_option_given(command: list[str]) -> None:
    # Installed next to this interpreter (pact-python-cli, in the contract extra).
    executable = shutil.which(command[0], path=sysconfig.get_path("scripts"))
    assert executable, "the broker CLI (pact-python-cli) is not installed"

    help_text = subprocess.run(  # noqa: S603 - our own command line
        [executable, *command[1:3], "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout

    options = [word for word in command if word.startswith("--")]
    assert options
    assert [o for o in options if not re.search(rf"(^|\s){re.escape(o)}\b", help_text)] == []
