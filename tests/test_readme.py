"""README.md and CI say the same thing, and README's tables cover what cookiecutter.json asks."""

from __future__ import annotations

import re

from tests import helpers

README = (helpers.TEMPLATE / "README.md").read_text()
CI_RUN = (helpers.TEMPLATE / ".ci" / "run").read_text()


def commands() -> list[str]:
    return re.findall(
        r"```sh\n(.+?)\n```", README.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    )


def test_readme_has_the_two_commands() -> None:
    bake, test = commands()
    assert "cookiecutter==" in bake
    assert "--no-input" in bake
    assert "tox" in test


def test_ci_runs_readmes_test_command_verbatim() -> None:
    _, test = commands()
    assert test in CI_RUN.splitlines()[CI_RUN.splitlines().index("status=0") + 1]
    assert "bash ../shared/docker/provision" in CI_RUN
    assert "REQUIRE_DOCKER=1" in CI_RUN
    # Cleanup is Ryuk's, here through the drop-in image: never turned off.
    assert "RYUK_CONTAINER_IMAGE=${RYUK_IMAGE" in CI_RUN
    assert "TESTCONTAINERS_RYUK_DISABLED" not in CI_RUN


def test_options_table_covers_every_question_and_answer() -> None:
    table = README.split("## Options", 1)[1].split("\n## ", 1)[0]
    for question in helpers.QUESTIONS:
        assert f"`{question}`" in table, question
    for question, answers in helpers.CHOICES.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{question}`"))
        assert [a for a in answers if f"`{a}`" not in row] == [], question
