"""A bake's suite stays right while a team grows it: the fast layers pass together in one pytest
session in random order, under many seeds, and leave the project as they found it; a new migration
is numbered after the head and passes the project's lint as Alembic writes it; a test that hangs
fails within the bound the project states, showing what it waited on."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests import helpers

Baked = Callable[[Mapping[str, str]], Path]
# Fixed seeds, so that a failing order can be replayed; every other run of a bake's layers in this
# suite (the bake matrix, the sampled bakes' tox) is ordered by a seed of its own as well.
SEEDS = range(1, 5)


def project_files(project: Path) -> set[str]:
    return {path.relative_to(project).as_posix() for path in helpers.files_of(project)} | {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if "instance" in path.parts or path.name == "pacts"
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_the_fast_layers_pass_together_in_random_order(baked: Baked, seed: int) -> None:
    project = baked(helpers.ALL_IN)
    before = project_files(project)
    env = helpers.clean_env(PYTHONPATH=str(project / "src"))
    command = helpers.python(
        "-m", "pytest", "tests/unit", "tests/contract", "-p", "no:cacheprovider",
        "-p", "randomly", f"--randomly-seed={seed}",
    )  # fmt: skip

    ran = helpers.run(command, cwd=project, env=env)

    helpers.assert_tests_passed(ran, f"unit and contract layers, seed {seed}")
    assert f"--randomly-seed={seed}" in ran.stdout, "pytest-randomly did not order the run"
    assert project_files(project) == before, "the run wrote into the project"


def test_a_new_migration_is_numbered_after_the_head_and_lint_clean(
    baked: Baked, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(baked(helpers.ALL_OUT), project)
    package = helpers.package_dir(project, helpers.ALL_OUT)
    env = helpers.clean_env(
        PYTHONPATH=str(project / "src"), FLASK_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    flask = helpers.python("-m", "flask", "--app", package.name, "db")
    ran = helpers.run([*flask, "upgrade"], cwd=project, env=env)
    assert ran.returncode == 0, ran.output
    models = package / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8").replace(
            "    version: Mapped[int] = mapped_column(default=1)",
            "    note: Mapped[str | None] = mapped_column(sa.String(200))\n"
            "    version: Mapped[int] = mapped_column(default=1)",
        ),
        encoding="utf-8",
    )

    ran = helpers.run(
        [*flask, "revision", "--autogenerate", "-m", "Add a note"], cwd=project, env=env
    )

    assert ran.returncode == 0, ran.output
    versions = sorted(path.name for path in (package / "migrations" / "versions").glob("*.py"))
    new = package / "migrations" / "versions" / versions[-1]
    assert versions[-1] == "0002_add_a_note.py", versions
    text = new.read_text(encoding="utf-8")
    assert re.search(r'^down_revision = "0001"$', text, re.MULTILINE), text
    assert 'add_column(sa.Column("note"' in text, text
    for command in (
        ["check", "--no-cache", str(new)],
        ["format", "--check", "--no-cache", str(new)],
    ):
        lint = helpers.run(helpers.python("-m", "ruff", *command), cwd=project)
        assert lint.returncode == 0, lint.output


def test_a_test_that_waits_forever_fails_within_the_stated_bound(
    baked: Baked, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(baked(helpers.ALL_OUT), project)
    stated = re.search(r"^timeout = (\d+)$", (project / "pyproject.toml").read_text(), re.MULTILINE)
    assert stated is not None, "the baked pytest configuration states no bound"
    (project / "tests" / "unit" / "test_waits_forever.py").write_text(
        "import threading\n\n\n"
        "def test_waits_on_what_never_comes() -> None:\n"
        "    threading.Event().wait()\n",
        encoding="utf-8",
    )
    env = helpers.clean_env(PYTHONPATH=str(project / "src"))
    # The bound shortened from the command line, as pytest-timeout allows: the stated one (a
    # minute) is too long to wait for here, and the mechanism is the same.
    command = helpers.python(
        "-m", "pytest", "tests/unit/test_waits_forever.py", "-p", "no:cacheprovider",
        "--timeout=2",
    )  # fmt: skip

    began = time.monotonic()
    ran = helpers.run(command, cwd=project, env=env)
    took = time.monotonic() - began

    assert ran.returncode == 1, ran.output
    assert "Timeout (>2.0s) from pytest-timeout" in ran.output, ran.output
    assert "threading.Event().wait()" in ran.output, "the failure does not show what it waited on"
    assert took < 30, f"the run took {took:.1f} s"


def test_mutation_testing_scores_a_module_and_names_its_survivors(
    baked: Baked, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(baked(helpers.ALL_OUT), project)
    package = helpers.package_dir(project, helpers.ALL_OUT).name
    # mutmut puts its mutated copy first on the path itself: nothing may point at src/.
    env = helpers.clean_env()
    # One module, as tox -e mutation -- "<package>.problems.*" would: enough to keep the
    # configuration, mutmut and the report working together, in about a minute.
    mutate = helpers.python("-m", "mutmut", "run", "--max-children", "2", f"{package}.problems.*")

    ran = helpers.run(mutate, cwd=project, env=env, timeout=900)
    report = helpers.run(helpers.python("-m", "tests.support.mutation"), cwd=project, env=env)

    assert ran.returncode == 0, ran.output
    assert report.returncode == 0, report.output
    rows = {line.split()[0]: line.split()[1:] for line in report.stdout.splitlines() if line}
    killed, survived, untested = (int(n) for n in rows[f"src/{package}/problems.py"][:3])
    assert killed > 0, report.stdout
    assert rows["all"][:3] == [str(killed), str(survived), str(untested)], report.stdout
    assert report.stdout.count(f"  {package}.problems.") == survived, report.stdout
