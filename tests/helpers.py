"""What the template's tests share: the options, baking, the per-bake checks and their tell-tales."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canonical_name

TEMPLATE = Path(__file__).resolve().parents[1]
COOKIECUTTER_JSON: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# Every question in the order cookiecutter asks it (private keys such as __prompts__ are not asked).
QUESTIONS = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
CHOICES: dict[str, list[str]] = {
    key: value
    for key, value in COOKIECUTTER_JSON.items()
    if key in QUESTIONS and isinstance(value, list)
}
# The options that interact (they decide files, code, dependencies and services): baked as a product.
DEPENDENCY_OPTIONS = ("database", "cache", "message_broker", "upstream_api")
# An option sampled rather than multiplied in: each of its answers meets each answer of every other
# option (every pair of answers is baked), at half the bakes a full product would take.
PAIRED_OPTION = "auth"
# Another, chosen by the parity of all but the database's answer: each of its answers meets each
# answer of every other option, ``PAIRED_OPTION``'s included.
SECOND_PAIRED_OPTION = "observability"
ALL_IN = {
    "database": "postgresql",
    "cache": "redis",
    "message_broker": "rabbitmq",
    "upstream_api": "yes",
    "auth": "jwt",
    "observability": "otel",
}
ALL_OUT = {
    "database": "sqlite",
    "cache": "none",
    "message_broker": "none",
    "upstream_api": "no",
    "auth": "none",
    "observability": "none",
}

# A subprocess must not inherit the variables that make it part of this run (xdist, tox).
_INHERITED_NOT = ("PYTEST_", "TOX_", "_TOX_", "VIRTUAL_ENV", "PYTHONPATH", "MYPYPATH", "COV_CORE_")


def matrix() -> list[dict[str, str]]:
    """The 24 combinations of the dependency options, each with an answer to ``PAIRED_OPTION``
    chosen by the parity of the others' (so that changing any one answer changes it: both of its
    answers meet every other answer); the options that only fill in a value (ci,
    python_version) are cycled through them."""
    combos = []
    for index, values in enumerate(itertools.product(*(CHOICES[o] for o in DEPENDENCY_OPTIONS))):
        answers = dict(zip(DEPENDENCY_OPTIONS, values, strict=True))
        parity = sum(CHOICES[o].index(answers[o]) for o in DEPENDENCY_OPTIONS) % 2
        answers[PAIRED_OPTION] = CHOICES[PAIRED_OPTION][parity]
        second = sum(CHOICES[o].index(answers[o]) for o in DEPENDENCY_OPTIONS[1:]) % 2
        answers[SECOND_PAIRED_OPTION] = CHOICES[SECOND_PAIRED_OPTION][second]
        # Different strides, so that the 24 bakes meet all 9 pairs of (ci, python_version).
        answers["ci"] = CHOICES["ci"][index % len(CHOICES["ci"])]
        pythons = CHOICES["python_version"]
        answers["python_version"] = pythons[(index // len(CHOICES["ci"])) % len(pythons)]
        combos.append(answers)
    return combos


def combo_id(answers: Mapping[str, str]) -> str:
    return "+".join(answers[option] for option in DEPENDENCY_OPTIONS)


def combo(spec: str) -> dict[str, str]:
    """``"postgresql+redis+rabbitmq+yes"`` -> the answers of that combination in the matrix."""
    for answers in matrix():
        if combo_id(answers) == spec:
            return answers
    raise KeyError(spec)


# --- Running things -------------------------------------------------------------------------------


_MYPY_STAMPS = itertools.count(1_000_000_000)


def mypy_env(project: Path, cache: Path, **extra: str) -> dict[str, str]:
    """The environment that runs mypy on a bake with a cache it shares with other bakes. mypy takes
    a file whose relative path, size and mtime (in whole seconds) match the cache's for unchanged,
    and bakes of other answers made within one second hold files of one path and size that differ
    (``rabbitmq`` or ``wiremock`` in one import line): each bake's files get an mtime of their own,
    so that mypy compares their contents."""
    stamp = next(_MYPY_STAMPS)
    for path in project.rglob("*.py"):
        os.utime(path, (stamp, stamp))
    return clean_env(MYPY_CACHE_DIR=str(cache), **extra)


# Where the pytest runs a test starts keep their temporary folders (PYTEST_DEBUG_TEMPROOT): set
# per test process by the suite's conftest, so that two processes' runs never share one root.
_nested_temproot: dict[str, str] = {}


def keep_nested_pytest_under(root: Path) -> None:
    _nested_temproot["PYTEST_DEBUG_TEMPROOT"] = str(root)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_NOT)}
    env.update(_nested_temproot)
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUTF8="1", NO_COLOR="1", **extra)
    return env


@dataclass
class Ran:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return f"$ {' '.join(self.args)}\n--- exit {self.returncode}; stdout:\n{self.stdout}\n--- stderr:\n{self.stderr}"


def run(args: list[str], cwd: Path, env: Mapping[str, str] | None = None,
        stdin: str | None = None, timeout: float = 900) -> Ran:  # fmt: skip
    done = subprocess.run(
        args, cwd=cwd, env=dict(env) if env is not None else clean_env(), input=stdin,
        capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
        check=False,
    )  # fmt: skip
    return Ran(list(args), done.returncode, done.stdout, done.stderr)


def git(cwd: Path, *args: str) -> Ran:
    """git as a person with an identity runs it; any failure fails the test."""
    ran = run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        timeout=120,
    )
    assert ran.returncode == 0, ran.output
    return ran


def committed_copy(project: Path, where: Path) -> Path:
    """A copy of a bake at ``where``, committed on ``main`` as a person would after baking (the
    shared bake stays untouched)."""
    shutil.copytree(project, where)
    git(where, "init", "-q", "-b", "main")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "Baked")
    return where


def python(*args: str) -> list[str]:
    """A command run with the tools of this test environment."""
    return [sys.executable, *args]


def unit_layer(project: Path, *args: str) -> list[str]:
    """``pytest tests/unit`` of a bake with the pytest plugins its unit extra installs, as
    ``tox -e unit`` runs it. This environment holds every extra of every bake: the other layers'
    plugins (schemathesis with hypothesis, pact, xdist, pytest-split, anyio) are blocked, which
    also spares each run seconds of importing them."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    extra = pyproject["project"]["optional-dependencies"]["unit"]
    installed = {canonical_name(Requirement(requirement).name) for requirement in extra}
    blocked = sorted(
        plugin.name
        for plugin in entry_points(group="pytest11")
        if plugin.dist is None or canonical_name(plugin.dist.name) not in installed
    )
    no_plugins = [arg for name in blocked for arg in ("-p", f"no:{name}")]
    return python("-m", "pytest", "tests/unit", "-p", "no:cacheprovider", *no_plugins, *args)


_SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


def pytest_counts(output: str) -> dict[str, int]:
    """The counts of pytest's closing line (``3 passed, 1 skipped in 0.5s``)."""
    closing = [line for line in output.splitlines() if re.search(r"\bin [\d.]+s\b", line)]
    if not closing:
        return {}
    return {word.rstrip("s") if word.startswith("error") else word: int(n)
              for n, word in _SUMMARY.findall(closing[-1])}  # fmt: skip


def assert_tests_passed(ran: Ran, what: str) -> dict[str, int]:
    """A test layer passed only if its runner exited 0 *and* ran at least one test: pytest's exit 5
    (nothing collected) and a run where everything skipped are failures here."""
    counts = pytest_counts(ran.stdout + ran.stderr)
    if ran.returncode == 5:
        raise AssertionError(f"{what}: pytest collected no tests (exit 5)\n{ran.output}")
    assert ran.returncode == 0, f"{what} failed\n{ran.output}"
    assert counts.get("passed", 0) > 0, f"{what}: no test passed ({counts})\n{ran.output}"
    return counts


# --- Baking ---------------------------------------------------------------------------------------


def write_cookiecutter_config(directory: Path) -> Path:
    """A user config that keeps cookiecutter's replay files and clones out of the real home."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(directory / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(directory / 'replay'))}\n"
    )
    return config


def bake(answers: Mapping[str, str], output_dir: Path, config_file: Path) -> Path:
    """Bakes through cookiecutter's API with ``no_input`` (answers given as extra context)."""
    from cookiecutter.main import cookiecutter

    output_dir.mkdir(parents=True, exist_ok=True)
    return Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context=dict(answers),
            output_dir=str(output_dir),
            config_file=str(config_file),
        )
    )


def prompt_lines(answers: Mapping[str, str]) -> str:
    """What a person types at the prompts, one line per question in cookiecutter.json's order:
    a text answer as is, a choice by its number, and an empty line to take the default."""
    unknown = set(answers) - set(QUESTIONS)
    assert not unknown, f"not questions of this template: {unknown}"
    lines = []
    for question in QUESTIONS:
        if question not in answers:
            lines.append("")
        elif question in CHOICES:
            lines.append(str(CHOICES[question].index(answers[question]) + 1))
        else:
            assert "\n" not in answers[question], "a prompt answer is one line"
            lines.append(answers[question])
    return "\n".join(lines) + "\n"


def cookiecutter_cli(
    args: list[str], cwd: Path, config_file: Path, stdin: str | None = None
) -> Ran:
    """The real command line, as a person runs it (``stdin`` is what they type)."""
    command = python("-m", "cookiecutter", "--config-file", str(config_file), *args)
    return run(
        command, cwd=cwd, env=clean_env(COLUMNS="400", TERM="dumb"), stdin=stdin, timeout=120
    )


def files_of(project: Path) -> Iterator[Path]:
    for path in sorted(project.rglob("*")):
        if path.is_file() and not {".git", ".tox", ".mypy_cache", ".ruff_cache", "__pycache__",
                                   ".pytest_cache", "build", "instance"} & set(path.relative_to(project).parts):  # fmt: skip
            yield path


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    return data.decode("utf-8")


def package_dir(project: Path, answers: Mapping[str, str]) -> Path:
    return project / "src" / answers.get("package_name", "orders_service")


# --- What each answer leaves behind ---------------------------------------------------------------

# (option, answer) -> patterns (case-insensitive) that betray that answer. None of them may appear in
# a file name or a text file of a bake that did not choose it (SQLite is the embedded default of every
# bake, so it has none). ``.cookiecutter.json`` is left out of the scan: it records every option by
# name, by design, and is compared with the answers instead; so does ``.cruft.json``, which
# ``cruft create`` writes. ``requirements-lock.txt`` lists every package installed, dependencies of
# dependencies too (the Docker client needs requests, whatever the upstream answer): test_lock.py
# holds each of its sections to the answers instead.
TELLTALES: dict[tuple[str, str], list[str]] = {
    ("database", "postgresql"): [r"postgres", r"psycopg", r"\bpg_"],
    ("database", "mariadb"): [r"maria", r"mysql"],
    ("cache", "redis"): [r"redis", r"cache\.py", r"cache_ttl", r"OrderCache"],
    ("message_broker", "rabbitmq"): [
        r"rabbit", r"kombu", r"amqp", r"outbox", r"order\.created(?!\w)", r"broker_url", r"events\.py",
    ],
    # WireMock and requests serve the identity provider too: only the pricing upstream's own count.
    ("upstream_api", "yes"): [
        r"pricing", r"pybreaker", r"upstream", r"tests/wiremock", r"python-wiremock",
        # responses is an English word too: only the library counts.
        r"\bresponses\s*[<>=~]", r"(import|from) responses\b", r"\bresponses\.[a-z_]",
    ],
    ("auth", "jwt"): [r"jwt", r"jwks", r"bearer", r"identity", r"order_owners", r"auth_"],
    ("observability", "otel"): [
        r"telemetry", r"opentelemetry", r"\botel", r"traceparent", r"trace_id", r"span_id",
        r"tracer",
    ],
    ("ci", "github"): [r"github", r"\.github/"],
    ("ci", "gitlab"): [r"gitlab"],
}  # fmt: skip
NOT_SCANNED = {".cookiecutter.json", ".cruft.json", "requirements-lock.txt"}


def traces(project: Path, answers: Mapping[str, str]) -> list[str]:
    """Every place a bake mentions an answer that was not given."""
    patterns = [
        (option, answer, re.compile(pattern, re.IGNORECASE))
        for (option, answer), found in TELLTALES.items()
        if answers[option] != answer
        for pattern in found
    ]
    found = []
    for path in files_of(project):
        relative = path.relative_to(project).as_posix()
        if relative in NOT_SCANNED:
            continue
        for option, answer, pattern in patterns:
            if pattern.search(relative):
                found.append(
                    f"{relative}: file name matches {pattern.pattern!r} ({option}={answer})"
                )
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for option, answer, pattern in patterns:
                if pattern.search(line):
                    found.append(
                        f"{relative}:{number}: {pattern.pattern!r} ({option}={answer}): {line.strip()}"
                    )
    return found


def mentions(project: Path, pattern: str) -> bool:
    """Whether any file name or text of the bake matches ``pattern`` (``.cookiecutter.json`` aside)."""
    compiled = re.compile(pattern, re.IGNORECASE)
    for path in files_of(project):
        relative = path.relative_to(project).as_posix()
        if relative in NOT_SCANNED:
            continue
        if compiled.search(relative) or compiled.search(text_of(path) or ""):
            return True
    return False


# Leftover template syntax: Jinja's opening delimiters, or a cookiecutter variable by name. GitHub
# Actions' own expressions (``${{ matrix.python }}``) are not Jinja's.
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#|\bcookiecutter\.(" + "|".join(QUESTIONS) + r")\b")


def unrendered(project: Path) -> list[str]:
    found = []
    for path in files_of(project):
        relative = path.relative_to(project).as_posix()
        if UNRENDERED.search(relative):
            found.append(f"{relative}: file name")
        text = text_of(path)
        for number, line in enumerate((text or "").splitlines(), 1):
            if UNRENDERED.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    """``["psycopg[binary]>=3.2,<4", ...]`` -> ``{"psycopg", ...}`` (normalized names)."""
    names = set()
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, requirement
        names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


# --- The template's hooks, as cookiecutter renders them --------------------------------------------


def default_context(**answers: str) -> dict[str, Any]:
    """The ``cookiecutter`` context a bake with these answers renders its hooks with."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=dict(answers))
    rendered = dict(prompt_for_config(context, no_input=True))
    rendered.update(_template=str(TEMPLATE), _output_dir="/nowhere", _repo_dir=str(TEMPLATE))
    return rendered


def render_hook(name: str, context: Mapping[str, Any]) -> str:
    """The hook's source as cookiecutter renders it before running it."""
    from cookiecutter.environment import StrictEnvironment

    environment = StrictEnvironment(
        context={"cookiecutter": dict(context)}, keep_trailing_newline=True
    )
    source = (TEMPLATE / "hooks" / f"{name}.py").read_text()
    return environment.from_string(source).render(cookiecutter=dict(context))


def load_hook(name: str, context: Mapping[str, Any], directory: Path) -> ModuleType:
    """Renders a hook and imports the result as a module (its ``__main__`` block does not run)."""
    path = directory / f"{name}_{abs(hash(json.dumps(dict(context), sort_keys=True)))}.py"
    path.write_text(render_hook(name, context))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
