"""The baked README's recipes for growing the service ("Growing the service"), applied to a bake
step by step as a team would: the fast layers are red at every half-done step and green once the
change is complete. A step that left them green would be drift nobody sees."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests import helpers

Baked = Callable[[Mapping[str, str]], Path]
# The contract layer takes about ten seconds, red or green; a run past this hangs somewhere.
CONTRACT_RED_WITHIN_SECONDS = 120
# (file under the package or the project, text found there, text it becomes)
Edit = tuple[str, str, str]

NOTE_COLUMN: Edit = (
    "{package}/models.py",
    "    version: Mapped[int] = mapped_column(default=1)",
    "    note: Mapped[str | None] = mapped_column(sa.String(200))\n"
    "    version: Mapped[int] = mapped_column(default=1)",
)
NOTE_TEST: Edit = (
    "tests/unit/test_orders.py",
    "\n\ndef test_list_of_no_orders_is_empty(",
    "\n\ndef test_a_note_is_kept_with_the_order(orders: Orders, client: FlaskClient) -> None:\n"
    '    created = client.post("/orders", json={**order_body(), "note": "at the door"})\n'
    "\n"
    "    assert created.status_code == 201, created.get_data(as_text=True)\n"
    '    assert orders.get(created.get_json()["id"]).get_json()["note"] == "at the door"\n'
    "\n\ndef test_list_of_no_orders_is_empty(",
)
NOTE_ACCEPTED: Edit = (
    "{package}/schemas.py",
    "    quantity: Quantity\n",
    "    quantity: Quantity\n    note: Annotated[str, Field(max_length=200)] | None = None\n",
)
NOTE_ANSWERED: list[Edit] = [
    (
        "{package}/schemas.py",
        '    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]\n',
        '    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]\n    note: str | None\n',
    ),
    (
        "{package}/models.py",
        '                "currency": self.currency,\n',
        '                "currency": self.currency,\n                "note": self.note,\n',
    ),
    (
        "{package}/orders.py",
        "        idempotency_key=key,\n",
        "        idempotency_key=key,\n        note=new.note,\n",
    ),
]
STATUS_TEST: Edit = (
    "tests/unit/test_orders.py",
    "\n\ndef test_list_of_no_orders_is_empty(",
    "\n\ndef test_the_list_filters_by_status(orders: Orders, client: FlaskClient) -> None:\n"
    "    orders.created_id()\n"
    "    cancelled = orders.created_id()\n"
    "    orders.cancel(cancelled)\n"
    "\n"
    '    page = client.get("/orders?status=cancelled").get_json()\n'
    "\n"
    '    assert [order["id"] for order in page["items"]] == [cancelled]\n'
    "\n\ndef test_list_of_no_orders_is_empty(",
)
STATUS_ACCEPTED: Edit = (
    "{package}/schemas.py",
    "    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0\n",
    "    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0\n"
    '    status: Literal["created", "cancelled"] | None = None\n',
)
STATUS_APPLIED: Edit = (
    "{package}/orders.py",
    "    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)\n",
    "    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)\n"
    "    if page.status is not None:\n"
    "        query = query.where(Order.status == page.status)\n",
)


class Bake:
    """A copy of a bake of the test's own, changed and tested as a team would."""

    def __init__(self, project: Path, package: Path, database: Path) -> None:
        self.project = project
        self.package = package
        self.env = helpers.clean_env(
            PYTHONPATH=str(project / "src"), FLASK_DATABASE_URL=f"sqlite:///{database}"
        )

    def edit(self, *edits: Edit) -> None:
        for relative, old, new in edits:
            path = self.project / relative.format(package=f"src/{self.package.name}")
            text = path.read_text(encoding="utf-8")
            assert text.count(old) == 1, f"{path}: the recipe's anchor {old!r} is not there once"
            path.write_text(text.replace(old, new), encoding="utf-8")

    def flask(self, *args: str) -> helpers.Ran:
        command = helpers.python("-m", "flask", "--app", self.package.name, *args)
        ran = helpers.run(command, cwd=self.project, env=self.env)
        assert ran.returncode == 0, ran.output
        return ran

    def layers(self, *paths: str, within: float = 900) -> helpers.Ran:
        command = helpers.python("-m", "pytest", *paths, "-p", "no:cacheprovider", "-q")
        return helpers.run(command, cwd=self.project, env=self.env, timeout=within)

    def assert_contract_red(self, step: str, failing: str) -> None:
        """The contract layer red too, saying why, and in seconds: Pact's verifier once retried a
        state it could not set up for minutes, past pytest-timeout's reach."""
        ran = self.layers("tests/contract", within=CONTRACT_RED_WITHIN_SECONDS)
        assert ran.returncode == 1, f"{step}: the contract layer stayed green\n{ran.output}"
        assert failing in ran.stdout, f"{step}: {failing} not said\n{ran.output}"

    def assert_red(self, step: str, failing: str) -> None:
        ran = self.layers("tests/unit")
        assert ran.returncode == 1, f"{step}: the unit layer stayed green\n{ran.output}"
        assert failing in ran.stdout, f"{step}: {failing} did not fail\n{ran.output}"

    def assert_green(self, step: str) -> None:
        helpers.assert_tests_passed(self.layers("tests/unit", "tests/contract"), step)
        for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
            lint = helpers.run(helpers.python("-m", "ruff", *command), cwd=self.project)
            assert lint.returncode == 0, f"{step}\n{lint.output}"


@pytest.fixture
def bake(baked: Baked, tmp_path: Path) -> Bake:
    project = tmp_path / "project"
    shutil.copytree(baked(helpers.ALL_OUT), project)
    return Bake(project, helpers.package_dir(project, helpers.ALL_OUT), tmp_path / "db.sqlite3")


def test_a_field_is_red_until_migrated_accepted_and_answered(bake: Bake) -> None:
    bake.edit(NOTE_COLUMN)
    bake.assert_red(
        "a column without its migration", "test_migrations_to_head_make_exactly_the_models"
    )
    bake.assert_contract_red(
        "a column without its migration",
        "provider state 'orders exist': OperationalError: (sqlite3.OperationalError) table orders "
        "has no column named note",
    )

    bake.flask("db", "upgrade")
    bake.flask("db", "revision", "--autogenerate", "-m", "Add a note to orders")
    bake.edit(NOTE_TEST)
    bake.assert_red("a test of the note, nothing else", "test_a_note_is_kept_with_the_order")

    bake.edit(NOTE_ACCEPTED)
    bake.assert_red("the note accepted, not answered", "test_a_note_is_kept_with_the_order")

    bake.edit(*NOTE_ANSWERED)
    bake.assert_green("the field complete")


def test_a_query_parameter_is_red_until_accepted_and_applied(bake: Bake) -> None:
    bake.edit(STATUS_TEST)
    bake.assert_red("a test of the filter, nothing else", "test_the_list_filters_by_status")

    bake.edit(STATUS_ACCEPTED)
    bake.assert_red("the parameter accepted, not applied", "test_the_list_filters_by_status")

    bake.edit(STATUS_APPLIED)
    bake.assert_green("the parameter complete")
