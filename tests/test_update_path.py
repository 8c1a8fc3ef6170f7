"""The update path: a project baked with ``cruft create`` carries ``.cruft.json``, and ``cruft
update`` brings a later template change into it without conflict, its checks still passing.

cruft renders the template twice on update (the project's template commit and the newer one, each
with the post-generation hook) and applies the difference as a patch. The hook's pruning is
deterministic and its record, ``.cookiecutter.json``, holds only the public answers (cruft's own
``_template`` and ``_commit`` are private keys), so both renders agree on everything the template
change did not touch: an update conflicts on nothing the hooks wrote.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from tests import helpers

ANSWERS = {
    "database": "mariadb",
    "cache": "none",
    "message_broker": "rabbitmq",
    "upstream_api": "no",
    "ci": "gitlab",
}
# The template change the update must bring: a line of the baked README, rendered with an answer.
ADDED_LINE = "{{ cookiecutter.project_name }} is kept in step with its template by `cruft update`."
ADDED_LINE_BAKED = "Orders Service is kept in step with its template by `cruft update`."
# What a clone of the template leaves in it that is not the template.
NOT_TEMPLATE = shutil.ignore_patterns(
    ".git", ".tox", ".venv", "baked", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"
)


def git(cwd: Path, *args: str) -> str:
    return helpers.git(cwd, *args).stdout.strip()


def cruft(cwd: Path, *args: str) -> helpers.Ran:
    return helpers.run(helpers.python("-m", "cruft", *args), cwd=cwd, timeout=300)


def template_repository(where: Path) -> tuple[Path, str]:
    """The template as a git repository of its own, one commit; returns it and the commit."""
    template = where / "template"
    shutil.copytree(helpers.TEMPLATE, template, ignore=NOT_TEMPLATE)
    git(template, "init", "-q", "-b", "main")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "The template")
    return template, git(template, "rev-parse", "HEAD")


def cruft_create(
    template: Path, output: Path, config: Path, answers: Mapping[str, str], *checkout: str
) -> Path:
    ran = cruft(
        output.parent,
        "create", str(template), "--no-input", "--output-dir", str(output),
        "--config-file", str(config), "--extra-context", json.dumps(dict(answers)), *checkout,
    )  # fmt: skip
    assert ran.returncode == 0, ran.output
    (project,) = output.iterdir()
    return project


def changed_files(project: Path) -> set[str]:
    """Files changed since the last commit, and new ones (not ignored)."""
    changed = git(project, "diff", "--name-only", "HEAD").splitlines()
    return set(changed + git(project, "ls-files", "--others", "--exclude-standard").splitlines())


def committed(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Baked")
    return project


def test_cruft_create_records_the_template_and_check_passes(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    template, commit = template_repository(tmp_path)
    project = committed(cruft_create(template, tmp_path / "out", cookiecutter_config, ANSWERS))
    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (str(template), commit)
    assert {k: state["context"]["cookiecutter"][k] for k in ANSWERS} == ANSWERS
    # The hooks ran as under cookiecutter: pruned, answers recorded without cruft's private keys.
    assert (project / ".gitlab-ci.yml").is_file()
    assert not (project / ".github").exists()
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert {k: recorded[k] for k in ANSWERS} == ANSWERS
    assert not [key for key in recorded if key.startswith("_")]
    assert helpers.traces(project, {**helpers.ALL_IN, **ANSWERS}) == []

    ran = cruft(project, "check")
    assert ran.returncode == 0, ran.output


def test_cruft_update_brings_a_template_change_without_conflict(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    template, older = template_repository(tmp_path)
    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\n" + ADDED_LINE + "\n")
    git(template, "commit", "-q", "-am", "README: how the project follows its template")
    newer = git(template, "rev-parse", "HEAD")

    project = committed(
        cruft_create(template, tmp_path / "out", cookiecutter_config, ANSWERS, "--checkout", older)
    )
    assert ADDED_LINE_BAKED not in (project / "README.md").read_text()
    recorded_before = (project / ".cookiecutter.json").read_bytes()
    # cruft check sees the newer template commit; at the older one the project is up to date.
    assert cruft(project, "check").returncode == 1
    assert cruft(project, "check", "--checkout", older).returncode == 0

    ran = cruft(project, "update", "--skip-apply-ask", "--checkout", newer)
    assert ran.returncode == 0, ran.output

    assert list(project.rglob("*.rej")) == [], "a part of the update did not apply"
    assert list(project.rglob("*.orig")) == []
    assert (project / "README.md").read_text().endswith("\n" + ADDED_LINE_BAKED + "\n")
    assert json.loads((project / ".cruft.json").read_text())["commit"] == newer
    # Only the template's change and cruft's record moved; the hooks' work is as it was.
    assert changed_files(project) == {"README.md", ".cruft.json"}
    assert (project / ".cookiecutter.json").read_bytes() == recorded_before
    assert cruft(project, "check").returncode == 0

    assert_fast_checks_pass(project)


def test_cruft_update_switches_the_ci_provider(tmp_path: Path, cookiecutter_config: Path) -> None:
    """A changed answer through ``cruft update --variables-to-update``: the other provider's CI
    file replaces the first, and the record of the answers follows."""
    template, _ = template_repository(tmp_path)
    project = committed(cruft_create(template, tmp_path / "out", cookiecutter_config, ANSWERS))

    ran = cruft(
        project, "update", "--skip-apply-ask", "--variables-to-update", json.dumps({"ci": "github"})
    )
    assert ran.returncode == 0, ran.output

    assert list(project.rglob("*.rej")) == []
    assert (project / ".github" / "workflows" / "ci.yml").is_file()
    assert not (project / ".gitlab-ci.yml").exists()
    assert json.loads((project / ".cookiecutter.json").read_text())["ci"] == "github"
    assert helpers.traces(project, {**helpers.ALL_IN, **ANSWERS, "ci": "github"}) == []


def assert_fast_checks_pass(project: Path) -> None:
    """ruff and the unit layer, with this environment's tools (as tests/test_bake_matrix.py)."""
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        ran = helpers.run(helpers.python("-m", "ruff", *command), cwd=project)
        assert ran.returncode == 0, ran.output
    env = helpers.clean_env(PYTHONPATH=str(project / "src"))
    command = helpers.unit_layer(project)
    helpers.assert_tests_passed(helpers.run(command, cwd=project, env=env), "unit layer")
