"""The hooks' functions, tested directly: each hook is rendered as cookiecutter renders it (its Jinja
environment and a real context) and the result imported as a module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests import helpers


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hooks")


@pytest.fixture(scope="module")
def pre(hook_dir: Path) -> ModuleType:
    return helpers.load_hook("pre_gen_project", helpers.default_context(), hook_dir)


@pytest.fixture(scope="module")
def post(hook_dir: Path) -> ModuleType:
    return helpers.load_hook("post_gen_project", helpers.default_context(), hook_dir)


# --- Answers reach the hooks as data ---------------------------------------------------------------

HOSTILE_VALUES = [
    'triple """ quotes',
    "triple ''' apostrophes",
    "ends with a backslash \\",
    '\\"""); import os; os.system("false"); ("""',
    "{{ 7 * 7 }} {% endraw %} {# #}",
    "line\nbreak \u2028 separator",
    "</script> & <b>",
    "caf\u00e9 \u2615 \U0001f600",
]


@pytest.mark.parametrize("hook", ["pre_gen_project", "post_gen_project"])
@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hooks_read_every_answer_verbatim(hook: str, value: str, hook_dir: Path) -> None:
    context = helpers.default_context()
    # As typed at the prompts: an answer is never rendered, whatever it holds.
    context.update(project_name=value, description=value, author_name=value)
    module = helpers.load_hook(hook, context, hook_dir)
    assert json.loads(json.dumps(context)) == module.ANSWERS


def test_pre_hook_run_as_a_script_executes_nothing_from_an_answer(tmp_path: Path) -> None:
    """What cookiecutter does: render the hook, run it with Python. An answer that would close the
    string the answers sit in and run code must stay text (the hook accepts it: it is valid text)."""
    marker = tmp_path / "pwned"
    attempts = {
        "project_name": f'"""); __import__("os").system("touch {marker}"); ("""',
        "description": f'\\"""); __import__("os").system("touch {marker}"); ("""',
        "author_name": f"'''); __import__('os').system('touch {marker}'); ('''",
    }
    context = {**helpers.default_context(), **attempts}
    script = tmp_path / "pre_gen_project.py"
    script.write_text(helpers.render_hook("pre_gen_project", context))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


# --- pre_gen_project: validation -----------------------------------------------------------------


@pytest.mark.parametrize("slug", ["orders-service", "a", "a1-b2-c3", "x" * 64])
def test_check_slug_accepts(pre: ModuleType, slug: str) -> None:
    assert pre.check_slug(slug) is None


@pytest.mark.parametrize(
    "slug",
    ["", "-", "Orders", "orders_service", "orders--service", "-orders", "orders-", "1orders",
     "a/b", "../x", "orders service", "ord\u00e9rs", "x" * 65],
)  # fmt: skip
def test_check_slug_rejects(pre: ModuleType, slug: str) -> None:
    problem = pre.check_slug(slug)
    assert problem
    assert problem.startswith("project_slug")


@pytest.mark.parametrize("name", ["orders_service", "a1", "shop", "x" * 40])
def test_check_package_accepts(pre: ModuleType, name: str) -> None:
    assert pre.check_package(name) is None


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "lowercase Python identifier"),
        ("Orders", "lowercase Python identifier"),
        ("1orders", "lowercase Python identifier"),
        ("_orders", "lowercase Python identifier"),
        ("orders-service", "lowercase Python identifier"),
        ("class", "keyword"),
        ("import", "keyword"),
        ("match", "keyword"),  # a soft keyword
        ("json", "shadow the module of the same name (the standard library)"),
        ("email", "shadow"),
        ("typing", "shadow"),
        ("flask", "shadow the module of the same name (from flask, which a bake installs)"),
        ("werkzeug", "shadow"),
        # what a bake's dependencies install in turn (testcontainers -> docker, flask -> blinker,
        # requests -> urllib3, flask -> jinja2 -> markupsafe, openapi-spec-validator -> ... -> pyyaml)
        ("docker", "(from docker, which a bake installs)"),
        ("blinker", "(from blinker, which a bake installs)"),
        ("urllib3", "(from urllib3, which a bake installs)"),
        ("markupsafe", "(from markupsafe, which a bake installs)"),
        ("yaml", "(from pyyaml, which a bake installs)"),
        ("tests", "shadow the module of the same name (the baked project's tests/)"),
        ("x" * 41, "keep it to 40"),
    ],
)
def test_check_package_rejects(pre: ModuleType, name: str, says: str) -> None:
    problem = pre.check_package(name)
    assert problem
    assert says in problem


@pytest.mark.parametrize(
    "text", ["Orders", 'O\'Brien "Q" \\ caf\u00e9 \u2014 \u2615', "{ single } braces %s", "x" * 200]
)
def test_check_text_accepts(pre: ModuleType, text: str) -> None:
    assert pre.check_text("description", text) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 201, "200"),
        ("two\nlines", "one line"),
        ("a\ttab", "one line"),
        ("an \x1b escape", "one line"),
        ("{{ cycler }}", "template syntax"),
        ("{% if x %}", "template syntax"),
        ("{# note #}", "template syntax"),
        ("closing }} only", "template syntax"),
        ("emoji \U0001f600", "U+1F600"),
    ],
)
def test_check_text_rejects(pre: ModuleType, text: str, says: str) -> None:
    problem = pre.check_text("description", text)
    assert problem
    assert problem.startswith("description")
    assert says in problem


@pytest.mark.parametrize(
    "email", ["you@example.com", "o'brien+orders@example.co.uk", "j\u00f6rg@ex\u00e4mple.de"]
)
def test_check_email_accepts(pre: ModuleType, email: str) -> None:
    assert pre.check_email(email) is None


@pytest.mark.parametrize(
    "email",
    [
        "",
        "you",
        "you@example",
        "you @example.com",
        "a@b@c.de",
        "x" * 250 + "@e.de",
        "\U0001f600@e.de",
    ],
)
def test_check_email_rejects(pre: ModuleType, email: str) -> None:
    problem = pre.check_email(email)
    assert problem
    assert problem.startswith("author_email")


@pytest.mark.parametrize(
    "version", ["0.1.0", "1", "1.0.0rc1", "2.0.post1", "1.0.dev3", "1!2.0", "2024.10.1"]
)
def test_check_version_accepts(pre: ModuleType, version: str) -> None:
    assert pre.check_version(version) is None


@pytest.mark.parametrize(
    "version", ["", "v1.0", "1.0-beta", "01.0", "1.0.0+local", "latest", "1.0 "]
)
def test_check_version_rejects(pre: ModuleType, version: str) -> None:
    problem = pre.check_version(version)
    assert problem
    assert problem.startswith("version")


def test_defaults_pass(pre: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert pre.problems(helpers.default_context()) == []
    assert pre.main(helpers.default_context()) == 0
    assert capsys.readouterr() == ("", "")


def test_main_reports_every_problem_and_fails(
    pre: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {
        **helpers.default_context(),
        "project_slug": "Bad Slug",
        "package_name": "json",
        "author_email": "nobody",
        "version": "one",
        "project_name": "",
        "description": "{{ x }}",
        "author_name": "x" * 201,
    }
    assert pre.main(answers) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == [
        "project_slug", "package_name", "author_email", "version", "project_name", "description", "author_name",
    ]  # fmt: skip
    assert all(line.startswith("ERROR: ") for line in lines[:-1])
    assert lines[-1] == "Nothing was generated. Run cookiecutter again with corrected answers."


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Orders Service", "orders-service"),
        ("orders_api", "orders-api"),
        ('Bob\'s "Quoted" Orders', "bob-s-quoted-orders"),
        ("a/b Service", "a-b-service"),
        ("../../etc", "etc"),
        ("Caf\u00e9 Cr\u00e8me \u2014 Bestellungen", "cafe-creme-bestellungen"),
    ],
)
def test_default_slug_and_package_follow_the_name(pre: ModuleType, name: str, slug: str) -> None:
    """The derived defaults are valid names: no quote, slash or dot-dot reaches the directory name."""
    context = helpers.default_context(project_name=name)
    assert (context["project_slug"], context["package_name"]) == (slug, slug.replace("-", "_"))
    assert pre.problems(context) == []


def test_a_name_with_no_letters_gets_a_slug_the_hook_refuses(pre: ModuleType) -> None:
    # An empty slug would name the output directory itself: cookiecutter would stop with "directory
    # already exists" before the hook could explain.
    context = helpers.default_context(project_name="!!!")
    assert context["project_slug"] == "-"
    assert any(problem.startswith("project_slug '-'") for problem in pre.problems(context))


# --- post_gen_project: the plan, pruning, next steps ---------------------------------------------


def test_every_planned_path_exists_in_the_template(post: ModuleType) -> None:
    """A path renamed in the template but not in the plan would silently survive every bake."""
    source = helpers.TEMPLATE / "{{cookiecutter.project_slug}}"
    planned = [path for owners in post.PLAN.values() for paths in owners.values() for path in paths]
    joint = [path for _needed, paths in post.JOINT for path in paths]
    missing = [
        path
        for path in planned + joint
        if not (source / path.format(package="{{cookiecutter.package_name}}")).exists()
    ]
    assert missing == []


def test_joint_answers_are_the_templates(post: ModuleType) -> None:
    for needed, _paths in post.JOINT:
        assert len(needed) >= 2
        for option, answer in needed.items():
            assert answer in helpers.CHOICES[option]


def test_a_joint_path_stays_only_when_every_one_of_its_answers_was_given(
    post: ModuleType,
) -> None:
    joint = [({"cache": "redis", "auth": "jwt"}, ["src/{package}/both.py"])]
    given = {**helpers.default_context(), **helpers.ALL_IN, "package_name": "shop"}

    kept = post.unchosen_paths(given, {}, joint)
    one_missing = post.unchosen_paths({**given, "auth": "none"}, {}, joint)
    other_missing = post.unchosen_paths({**given, "cache": "none"}, {}, joint)

    assert kept == []
    assert one_missing == other_missing == ["src/shop/both.py"]


def test_plan_options_and_answers_are_the_templates(post: ModuleType) -> None:
    for option, owners in post.PLAN.items():
        assert option in helpers.CHOICES
        assert set(owners) <= set(helpers.CHOICES[option])


def test_unchosen_paths_all_in(post: ModuleType) -> None:
    answers = {**helpers.default_context(), **helpers.ALL_IN, "package_name": "shop"}
    assert answers["ci"] == "github"
    assert post.unchosen_paths(answers, post.PLAN) == [
        ".gitlab-ci.yml",
        "renovate.json",
        "src/shop/dependencies/mariadb.py",
        "src/shop/dependencies/price_in_request.py",
        "tests/e2e/services/mariadb.py",
        "tests/e2e/services/sqlite.py",
        "tests/e2e/test_sqlite.py",
        "tests/fixtures/mariadb.py",
        "tests/fixtures/sqlite.py",
        "tests/integration/test_mariadb.py",
        "tests/unit/test_mariadb.py",
        "tests/unit/test_price_in_request.py",
    ]


def test_unchosen_paths_all_out(post: ModuleType) -> None:
    answers = {**helpers.default_context(), **helpers.ALL_OUT, "package_name": "shop"}
    unchosen = set(post.unchosen_paths(answers, post.PLAN))
    assert {"src/shop/dependencies/cache.py", "src/shop/dependencies/events.py",
            "src/shop/dependencies/pricing.py", "src/shop/dependencies/postgresql.py",
            "tests/fixtures/postgresql.py", "tests/fixtures/mariadb.py",
            "tests/integration/test_database_server.py", "tests/wiremock"} <= unchosen  # fmt: skip
    assert not {"tests/fixtures/sqlite.py", "src/shop/dependencies/price_in_request.py"} & unchosen
    assert not any("{package}" in path for path in unchosen)


def test_main_prunes_records_and_prints(
    post: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {
        **helpers.default_context(),
        **helpers.ALL_OUT,
        "ci": "none",
        "package_name": "shop",
        "project_slug": "shop",
    }
    planned = [
        p.format(package="shop") for o in post.PLAN.values() for ps in o.values() for p in ps
    ]
    for relative in planned:
        target = tmp_path / relative
        if Path(relative).suffix:  # a file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
        else:  # a directory of files
            (target / "mappings").mkdir(parents=True)
            (target / "mappings" / "x.json").write_text("{}")
    (tmp_path / "src" / "shop" / "__init__.py").write_text("")
    (tmp_path / "empty" / "nested").mkdir(parents=True)

    unchosen = post.unchosen_paths(answers, post.PLAN)

    assert post.main(answers, tmp_path) == 0

    assert all(not (tmp_path / relative).exists() for relative in unchosen)
    assert all((tmp_path / relative).exists() for relative in set(planned) - set(unchosen))
    assert (tmp_path / "src" / "shop" / "__init__.py").exists()
    assert not (tmp_path / "empty").exists()
    assert not (tmp_path / "tests" / "wiremock").exists()  # emptied by the pruning, then removed
    recorded = json.loads((tmp_path / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert recorded == {k: v for k, v in answers.items() if not k.startswith("_")}
    out = capsys.readouterr().out
    assert out.startswith("Baked shop. Next:")


@pytest.mark.parametrize("answers", helpers.matrix(), ids=helpers.combo_id)
def test_next_steps(post: ModuleType, answers: dict[str, str]) -> None:
    full = {
        **helpers.default_context(),
        **answers,
        "project_slug": "my-shop",
        "package_name": "my_shop",
    }
    steps = post.next_steps(full)
    assert "  cd my-shop" in steps
    # Every install goes into a virtualenv made first (PEP 668 refuses them elsewhere).
    lines = steps.splitlines()
    made = next(i for i, line in enumerate(lines) if "-m venv .venv" in line)
    activated = lines[made].split("&&")[-1].strip()
    assert activated == ". .venv/bin/activate"
    assert all(i > made for i, line in enumerate(lines) if "pip install" in line)
    assert "flask --app my_shop run" in steps
    assert "tox -m fast" in steps
    assert "tox -m docker" in steps
    # The one request that shows the embedded default taking an order.
    (curl,) = [line for line in steps.splitlines() if "curl" in line]
    assert "POST" in curl
    assert "/orders" in curl
