"""The lists that must not drift from the baked pyproject.toml: the package names the pre-gen hook
refuses (``_reserved_names`` in cookiecutter.json) and the requirements this environment installs."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests import baked_requirements, helpers, reserved_names


def test_stored_reserved_names_are_current() -> None:
    """Recomputed here, from the distributions this environment installed from the baked
    pyproject.toml: a dependency added to (or dropped from) a bake changes the list."""
    changes = reserved_names.difference(reserved_names.stored(), reserved_names.computed())
    assert changes == [], (
        f"{reserved_names.KEY} in cookiecutter.json is stale (+ to add, - to drop, ~ changed):\n"
        + "\n".join(changes)
        + f"\nRefresh it with: {reserved_names.REFRESH}"
    )


def test_the_difference_names_each_change() -> None:
    old = {"flask": "from flask", "gone": "from gone", "tests": "x"}
    new = {"flask": "from flask", "blinker": "from blinker", "tests": "y"}
    assert reserved_names.difference(old, new) == [
        "+ blinker: from blinker",
        "- gone: from gone",
        "~ tests: x -> y",
    ]


def test_a_requirement_not_installed_is_named() -> None:
    with pytest.raises(reserved_names.NotInstalledError, match="no-such-distribution-here"):
        reserved_names.installed_closure(["no-such-distribution-here>=1"])


def test_transitive_and_extra_requirements_are_followed() -> None:
    closure = reserved_names.installed_closure(["flask>=3.1", "psycopg[binary]>=3.2"])
    # flask -> jinja2 -> markupsafe; flask -> blinker; psycopg's binary extra -> psycopg-binary
    assert {"flask", "jinja2", "markupsafe", "blinker", "psycopg-binary"} <= closure
    assert "cookiecutter" not in closure


def test_the_private_key_is_not_asked_and_reaches_the_context_as_stored() -> None:
    """cookiecutter copies a ``_`` key into the context as it stands in cookiecutter.json (the prompt
    tests type one line per question: an extra question would shift every answer)."""
    assert reserved_names.KEY not in helpers.QUESTIONS
    assert reserved_names.KEY not in helpers.CHOICES
    assert helpers.default_context()[reserved_names.KEY] == reserved_names.stored()


# Before the list was computed, the hook refused these by hand: it still does.
HAND_KEPT = [
    "alembic", "click", "flask", "gunicorn", "jinja2", "kombu", "markupsafe", "pybreaker",
    "pydantic", "pymysql", "psycopg", "pytest", "redis", "requests", "responses", "sqlalchemy",
    "testcontainers", "tests", "tox", "urllib3", "werkzeug", "wiremock", "app", "src",
]  # fmt: skip


def test_every_name_refused_by_hand_before_is_reserved() -> None:
    assert [name for name in HAND_KEPT if name not in reserved_names.stored()] == []


# --- The requirements this environment installs -----------------------------------------------------


def test_baked_requirements_cover_every_answer_and_extra() -> None:
    requirements = baked_requirements.baked_requirements()
    names = helpers.requirement_names(requirements)
    # each database driver (only one per bake), each optional dependency, the extras' tools
    assert {"psycopg", "pymysql", "redis", "kombu", "requests", "pybreaker", "responses",
            "wiremock", "testcontainers", "pytest-socket", "ruff", "mypy", "setuptools"} <= names  # fmt: skip
    assert "psycopg[binary]>=3.2,<4" in requirements
    for answers in (helpers.ALL_IN, helpers.ALL_OUT):
        context = {**helpers.default_context(), **answers}
        baked = baked_requirements.requirements_of(
            tomllib.loads(baked_requirements.render(baked_requirements.BAKED_PYPROJECT, context))
        )
        assert baked <= set(requirements)


def test_this_environment_has_every_baked_requirement_at_its_pin() -> None:
    """tox installs them from the baked pyproject.toml; nothing else pins them."""
    wrong = []
    for text in baked_requirements.baked_requirements():
        requirement = Requirement(text)
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{text}: not installed")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{text}: {version} installed")
    assert wrong == []


def test_select_keeps_the_baked_lines_and_refuses_unknown_names() -> None:
    chosen = baked_requirements.select(["psycopg[binary]>=3.2,<4", "redis>=5,<9"], ["Psycopg"])
    assert chosen == ["psycopg[binary]>=3.2,<4"]
    with pytest.raises(SystemExit, match="pika"):
        baked_requirements.select(["redis>=5,<9"], ["pika"])


# --- The list reaches the hook however the template is fetched ----------------------------------------


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to clone a template URL")
def test_a_template_cloned_from_a_git_url_refuses_a_dependency_name(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    """cookiecutter clones a ``git+file://`` template into its own folder and runs the hook from the
    clone: the reserved names travel in the context, not in a file looked up beside the hook."""
    repository = tmp_path / "template"
    shutil.copytree(
        helpers.TEMPLATE, repository,
        ignore=shutil.ignore_patterns(".git", ".tox", ".venv", "baked", "__pycache__", "*_cache"),
    )  # fmt: skip
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "init.defaultBranch=main",
    ]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run([*git, *command], cwd=repository, check=True, capture_output=True)
    (tmp_path / "out").mkdir()
    url = f"git+{repository.as_uri()}"

    refused = helpers.cookiecutter_cli(
        ["--no-input", url, "--output-dir", "out", "package_name=blinker"],
        cwd=tmp_path, config_file=cookiecutter_config,
    )  # fmt: skip
    assert refused.returncode != 0, refused.output
    assert "package_name 'blinker' would shadow the module of the same name (from blinker, which a bake installs)" in refused.stderr, refused.output  # fmt: skip
    assert list((tmp_path / "out").iterdir()) == []

    baked = helpers.cookiecutter_cli(
        ["--no-input", url, "--output-dir", "out", "package_name=shop"],
        cwd=tmp_path, config_file=cookiecutter_config,
    )  # fmt: skip
    assert baked.returncode == 0, baked.output
    assert (tmp_path / "out" / "orders-service" / "src" / "shop").is_dir()
