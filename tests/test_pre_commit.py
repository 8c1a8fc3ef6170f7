"""The developer tooling every bake carries: pre-commit hooks that run the bake's own ruff and mypy
offline, an .editorconfig its files already follow, and .gitattributes that keep LF where
containers need it."""

from __future__ import annotations

import configparser
from collections.abc import Callable, Mapping
from pathlib import Path

import editorconfig
import pytest
import yaml

from tests import helpers

Baked = Callable[[Mapping[str, str]], Path]

# A proxy nobody listens on: any download pre-commit tried would fail.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
OFFLINE |= {key.lower(): value for key, value in OFFLINE.items()}
HOOKS = ["ruff check", "ruff format", "mypy --strict"]

# Wrong three ways: an unused import (ruff check), a call spread badly (ruff format), and a str
# returned where an int is promised (mypy --strict).
BROKEN_MODULE = """import os


def answer() -> int:
    return str( 42 )
"""


def git_initialised_bake(baked: Baked, answers: Mapping[str, str], tmp_path: Path) -> Path:
    """A copy of the bake, committed as a person would after baking."""
    return helpers.committed_copy(baked(answers), tmp_path / "project")


def pre_commit(project: Path, home: Path, *args: str) -> helpers.Ran:
    """pre-commit with this environment's tools first on PATH (ruff, mypy: what the bake's extras
    install), its cache in ``home``, and no way to download anything."""
    tools = str(Path(helpers.python()[0]).parent)
    env = helpers.clean_env(PRE_COMMIT_HOME=str(home), **OFFLINE)
    env["PATH"] = f"{tools}:{env.get('PATH', '')}"
    return helpers.run(helpers.python("-m", "pre_commit", *args), cwd=project, env=env, timeout=600)


def hook_results(output: str) -> dict[str, str]:
    """``ruff check.....Passed`` lines -> {"ruff check": "Passed"}."""
    results = {}
    for line in output.splitlines():
        name, dots, result = line.rpartition("...")
        if dots and result in {"Passed", "Failed", "Skipped"}:
            results[name.rstrip(".")] = result
    return results


def test_pre_commit_config_is_valid_and_local(baked: Baked, tmp_path: Path) -> None:
    project = baked(helpers.ALL_IN)
    ran = pre_commit(project, tmp_path / "pre-commit", "validate-config", ".pre-commit-config.yaml")
    assert ran.returncode == 0, ran.output
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = config["repos"][0]["hooks"]
    assert [hook["name"] for hook in hooks] == HOOKS
    assert {hook["language"] for hook in hooks} == {"system"}


def test_pre_commit_hooks_run_the_tools_tox_runs(baked: Baked) -> None:
    """Each hook's tool is one that the bake's tox lint or type environment runs, and the bake's
    pyproject.toml pins it in an extra (lint, type), so the versions are the same."""
    project = baked(helpers.ALL_IN)
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(project / "tox.ini")
    tox_commands = tox["testenv:lint"]["commands"] + tox["testenv:type"]["commands"]
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    for hook in config["repos"][0]["hooks"]:
        command = hook["entry"].split(" --")[0]  # "ruff check", "ruff format", "mypy"
        assert command in tox_commands, hook["entry"]
    pyproject = (project / "pyproject.toml").read_text()
    assert 'lint = ["ruff' in pyproject
    assert '"mypy>=' in pyproject


@pytest.mark.parametrize(
    "answers", [helpers.ALL_IN, {**helpers.ALL_OUT, "ci": "gitlab"}], ids=["all-in", "all-out"]
)
def test_pre_commit_hooks_pass_on_a_fresh_bake_and_catch_a_broken_file(
    baked: Baked, answers: Mapping[str, str], tmp_path: Path
) -> None:
    project = git_initialised_bake(baked, answers, tmp_path)
    home = tmp_path / "pre-commit"

    ran = pre_commit(project, home, "run", "--all-files")
    assert ran.returncode == 0, ran.output
    assert hook_results(ran.stdout) == dict.fromkeys(HOOKS, "Passed"), ran.output

    package = helpers.package_dir(project, answers)
    (package / "broken.py").write_text(BROKEN_MODULE)
    helpers.git(project, "add", "-A")
    ran = pre_commit(project, home, "run", "--all-files")
    assert ran.returncode == 1, ran.output
    assert hook_results(ran.stdout) == dict.fromkeys(HOOKS, "Failed"), ran.output
    assert "F401" in ran.stdout  # the unused import
    assert "broken.py:5: error: Incompatible return value" in ran.stdout
    assert "return str(42)" in (package / "broken.py").read_text(), "ruff format fixed the file"


@pytest.mark.parametrize("ci", helpers.CHOICES["ci"])
def test_pre_commit_editorconfig_is_what_the_files_already_follow(baked: Baked, ci: str) -> None:
    """Every text file of the bake already keeps the .editorconfig rules that apply to it (read
    with the EditorConfig core library), so an editor that honours them changes nothing."""
    project = baked({**helpers.ALL_IN, "ci": ci})
    assert (project / ".editorconfig").is_file()
    problems = []
    for path in helpers.files_of(project):
        text = helpers.text_of(path)
        assert text is not None, path
        rules = editorconfig.get_properties(str(path))
        relative = path.relative_to(project)
        assert rules["charset"] == "utf-8", relative
        if rules["end_of_line"] == "lf" and "\r" in text:
            problems.append(f"{relative}: CR in line ends")
        if rules["insert_final_newline"] == "true" and text and not text.endswith("\n"):
            problems.append(f"{relative}: no final newline")
        for number, line in enumerate(text.splitlines(), 1):
            if rules["trim_trailing_whitespace"] == "true" and line != line.rstrip():
                problems.append(f"{relative}:{number}: trailing whitespace")
            if rules["indent_style"] == "space" and line.startswith("\t"):
                problems.append(f"{relative}:{number}: tab indentation")
    assert problems == []
    assert editorconfig.get_properties(str(project / "compose.yaml"))["indent_size"] == "2"
    assert editorconfig.get_properties(str(project / "pyproject.toml"))["indent_size"] == "4"


def test_pre_commit_gitattributes_keep_lf_where_containers_need_it(
    baked: Baked, tmp_path: Path
) -> None:
    """Checked out where Git writes CRLF (core.autocrlf=true, as on Windows), text files get CRLF
    but the Dockerfile and shell scripts keep LF, which the container build needs."""
    project = git_initialised_bake(baked, helpers.ALL_IN, tmp_path)
    (project / "entrypoint.sh").write_text('#!/bin/sh\nexec "$@"\n')
    helpers.git(project, "add", "entrypoint.sh")
    helpers.git(project, "commit", "-q", "-m", "A script")
    helpers.git(project, "config", "core.autocrlf", "true")
    files = ["Dockerfile", "entrypoint.sh", "README.md", "pyproject.toml"]
    for name in files:
        (project / name).unlink()
    helpers.git(project, "checkout", "--", *files)
    assert b"\r\n" not in (project / "Dockerfile").read_bytes()
    assert b"\r\n" not in (project / "entrypoint.sh").read_bytes()
    assert b"\r\n" in (project / "README.md").read_bytes()
    assert b"\r\n" in (project / "pyproject.toml").read_bytes()
    attributes = helpers.git(project, "check-attr", "text", "eol", "--", "Dockerfile").stdout
    assert "Dockerfile: eol: lf" in attributes
