"""The baked README's recipes for growing the service ("Growing the service"), applied step by step
to a bake of the default answers, as a team would: at every half-done step the unit and contract
layers both run, each failing exactly the tests the README's list for that step names (none where
it names none), within a bound; once the change is complete both pass, and ruff with them. A step
that left the layers green, or made them say what the README does not, would be drift nobody sees.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from tests import helpers

Baked = Callable[[Mapping[str, str]], Path]
# No answers: cookiecutter's defaults, every dependency in, the bake whose layers say the most.
DEFAULT: dict[str, str] = {}
# One run of a layer, red or green, on the default bake: about 10 s each on two idle cores, 38 s at
# the most measured with other suites running on them; the bound is over twice that, so that a
# loaded CI runner passes. A run past it hangs somewhere: Pact's verifier once retried a provider
# state it could not set up for minutes, past pytest-timeout's reach.
WITHIN_SECONDS = {"unit": 90, "contract": 90}
# A failed test in pytest's short summary (``-rfE``): its file and name, parameters left out.
FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<test>tests/[^\s\[]+)", re.MULTILINE)
# (file under the package or the project, text found there, text it becomes); an empty text found
# adds to the end of the file.
Edit = tuple[str, str, str]

NOTE_COLUMN: Edit = (
    "{package}/models.py",
    "    version: Mapped[int] = mapped_column(default=1)",
    "    note: Mapped[str | None] = mapped_column(sa.String(200))\n"
    "    version: Mapped[int] = mapped_column(default=1)",
)
NOTE_TEST: Edit = (
    "tests/unit/test_orders.py",
    "",
    "\n\ndef test_a_note_is_kept_with_the_order(orders: Orders, client: FlaskClient) -> None:\n"
    '    created = client.post("/orders", json={**order_body(), "note": "at the door"})\n'
    "\n"
    "    assert created.status_code == 201, created.get_data(as_text=True)\n"
    '    assert orders.get(created.get_json()["id"]).get_json()["note"] == "at the door"\n',
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
    "",
    "\n\ndef test_the_list_filters_by_status(orders: Orders, client: FlaskClient) -> None:\n"
    "    orders.created_id()\n"
    "    cancelled = orders.created_id()\n"
    "    orders.cancel(cancelled)\n"
    "\n"
    '    listed = client.get("/orders?status=cancelled")\n'
    "\n"
    "    assert listed.status_code == 200, listed.get_data(as_text=True)\n"
    '    assert [order["id"] for order in listed.get_json()["items"]] == [cancelled]\n',
)
STATUS_ACCEPTED: Edit = (
    "{package}/schemas.py",
    "    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0\n",
    "    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0\n    status: Status | None = None\n",
)
STATUS_APPLIED: Edit = (
    "{package}/orders.py",
    "    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)\n",
    "    query = sa.select(Order).where(Order.id > page.after).order_by(Order.id).limit(page.limit)\n"
    "    if page.status is not None:\n"
    "        query = query.where(Order.status == page.status)\n",
)


HISTORY_TEST: Edit = (
    "tests/unit/test_orders.py",
    "",
    "\n\ndef test_an_orders_history_lists_its_changes(orders: Orders, client: FlaskClient) -> None:\n"
    "    order_id = orders.created_id()\n"
    "    orders.cancel(order_id)\n"
    "\n"
    '    history = client.get(f"/orders/{order_id}/history")\n'
    "\n"
    "    assert history.status_code == 200, history.get_data(as_text=True)\n"
    '    assert [change["status"] for change in history.get_json()] == ["created", "cancelled"]\n',
)
HISTORY_ROUTE: Edit = (
    "{package}/orders.py",
    "",
    '\n\n@bp.get("/<int:order_id>/history")\n'
    "def get_order_history(order_id: int) -> Response:\n"
    '    return jsonify(_existing_order(order_id).to_dict()["history"])\n',
)
HISTORY_CALLERS: Edit = (
    "{package}/orders.py",
    '@bp.get("/<int:order_id>/history")\n',
    '@bp.get("/<int:order_id>/history")\n@requires(READ)\n',
)
HISTORY_DOCUMENTED: Edit = (
    "{package}/openapi.py",
    '        "/orders/{order_id}/cancel": {\n',
    '        "/orders/{order_id}/history": {\n'
    '            "get": {\n'
    '                "operationId": "getOrderHistory",\n'
    '                "summary": "Read an order\'s changes of status, oldest first",\n'
    '                "parameters": [ORDER_ID],\n'
    '                "responses": {\n'
    '                    "200": {\n'
    '                        "description": "Its changes",\n'
    '                        "content": {\n'
    '                            "application/json": {\n'
    '                                "schema": {\n'
    '                                    "type": "array",\n'
    '                                    "items": {"$ref": REF.format(model="StatusChangeOut")},\n'
    "                                }\n"
    "                            }\n"
    "                        },\n"
    "                    },\n"
    '                    "404": problem("No such order"),\n'
    '                    "503": problem(DATABASE_DOWN),\n'
    "                },\n"
    "            },\n"
    "        },\n"
    '        "/orders/{order_id}/cancel": {\n',
)

HISTORY_NAMED: Edit = (
    "tests/unit/test_openapi.py",
    '    ("post", "/orders/{order_id}/cancel"): "cancelOrder",\n',
    '    ("post", "/orders/{order_id}/cancel"): "cancelOrder",\n'
    '    ("get", "/orders/{order_id}/history"): "getOrderHistory",\n',
)


def failed_tests(output: str) -> set[str]:
    return set(FAILED.findall(output))


class Bake:
    """A copy of a bake of the test's own, changed and tested as a team would; each layer's time at
    each step is recorded, beside its bound, for the run's summary."""

    def __init__(
        self, project: Path, database: Path, record: Callable[[str, object], None]
    ) -> None:
        self.project = project
        self.package = helpers.package_dir(project, DEFAULT)
        self.record = record
        self.env = helpers.clean_env(
            PYTHONPATH=str(project / "src"), FLASK_DATABASE_URL=f"sqlite:///{database}"
        )

    def edit(self, *edits: Edit) -> None:
        for relative, old, new in edits:
            path = self.project / relative.format(package=f"src/{self.package.name}")
            text = path.read_text(encoding="utf-8")
            if old:
                assert text.count(old) == 1, (
                    f"{path}: the recipe's anchor {old!r} is not there once"
                )
                text = text.replace(old, new)
            else:
                text += new
            path.write_text(text, encoding="utf-8")

    def flask(self, *args: str) -> None:
        command = helpers.python("-m", "flask", "--app", self.package.name, *args)
        ran = helpers.run(command, cwd=self.project, env=self.env)
        assert ran.returncode == 0, ran.output

    def layer(self, step: str, name: str) -> helpers.Ran:
        """The layer run as its tox environment runs it, within its bound; its time recorded."""
        arguments = ("-q", "-rfE")
        command = (
            helpers.unit_layer(self.project, *arguments)
            if name == "unit"
            else helpers.python(
                "-m", "pytest", "tests/contract", "-p", "no:cacheprovider", *arguments
            )
        )
        bound = WITHIN_SECONDS[name]
        began = time.monotonic()
        try:
            ran = helpers.run(command, cwd=self.project, env=self.env, timeout=bound)
        except subprocess.TimeoutExpired as expired:
            raise AssertionError(
                f"{step}: the {name} layer ran past its bound ({bound} s)\n{expired.stdout}"
            ) from None
        took = time.monotonic() - began
        outcome = "green" if ran.returncode == 0 else "red"
        self.record(f"{step}: {name}", f"{outcome} in {took:.1f} s (bound {bound} s)")
        return ran

    def assert_layers(
        self, step: str, unit: Iterable[str] = (), contract: Iterable[str] = (), says: str = ""
    ) -> None:
        """Each layer fails exactly the tests given (and passes where none are), as the README's
        list for the step says; and what failed says why, when told what."""
        output = ""
        for name, failing in (("unit", set(unit)), ("contract", set(contract))):
            ran = self.layer(step, name)
            output += ran.output
            if not failing:
                helpers.assert_tests_passed(ran, f"{step}: the {name} layer")
                continue
            assert ran.returncode == 1, f"{step}: the {name} layer stayed green\n{ran.output}"
            assert failed_tests(ran.stdout) == failing, f"{step}: the {name} layer\n{ran.output}"
        assert says in output, f"{step}: {says!r} not said\n{output}"

    def assert_complete(self, step: str) -> None:
        self.assert_layers(step)
        for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
            lint = helpers.run(helpers.python("-m", "ruff", *command), cwd=self.project)
            assert lint.returncode == 0, f"{step}\n{lint.output}"


@pytest.fixture
def bake(baked: Baked, tmp_path: Path, record_property: Callable[[str, object], None]) -> Bake:
    project = tmp_path / "project"
    shutil.copytree(baked(DEFAULT), project)
    return Bake(project, tmp_path / "db.sqlite3", record_property)


# What each half-done step fails, as the README's recipes list it.
MIGRATION_TESTS = [
    "tests/unit/test_database.py::test_migrations_to_head_make_exactly_the_models",
    "tests/unit/test_database.py::test_migrations_downgrade_to_nothing_and_upgrade_again",
    "tests/unit/test_database.py::test_drift_between_models_and_migrations_would_be_seen",
]
UNSERVED_CONTRACTS = [
    "tests/contract/test_orders_provider.py::test_the_orders_api_honours_the_storefronts_pact",
    "tests/contract/test_api_schema.py::test_a_new_order_can_be_read_and_cancelled_through_its_links",
    "tests/contract/test_events.py::test_order_created_is_published_as_the_notifier_expects",
]
NOTE_KEPT = ["tests/unit/test_orders.py::test_a_note_is_kept_with_the_order"]
FILTERED = ["tests/unit/test_orders.py::test_the_list_filters_by_status"]


def test_a_field_is_red_until_migrated_accepted_and_answered(bake: Bake) -> None:
    bake.edit(NOTE_COLUMN)
    bake.assert_layers(
        "field 1, the column",
        unit=MIGRATION_TESTS,
        contract=UNSERVED_CONTRACTS,
        says="provider state 'orders exist': OperationalError: (sqlite3.OperationalError) table "
        "orders has no column named note",
    )

    bake.flask("db", "upgrade")
    bake.flask("db", "revision", "--autogenerate", "-m", "Add a note to orders")
    bake.assert_layers("field 2, its migration")

    bake.edit(NOTE_TEST)
    bake.assert_layers("field 3, a test", unit=NOTE_KEPT, says="assert 422 == 201")

    bake.edit(NOTE_ACCEPTED)
    bake.assert_layers("field 4, accepted", unit=NOTE_KEPT, says="KeyError: 'note'")

    bake.edit(*NOTE_ANSWERED)
    bake.assert_complete("field 5, answered")


def test_a_query_parameter_is_red_until_accepted_and_applied(bake: Bake) -> None:
    bake.edit(STATUS_TEST)
    bake.assert_layers("query parameter 1, a test", unit=FILTERED, says="assert 422 == 200")

    bake.edit(STATUS_ACCEPTED)
    # Both orders listed: the parameter accepted, and ignored.
    bake.assert_layers(
        "query parameter 2, accepted", unit=FILTERED, says="Left contains one more item"
    )

    bake.edit(STATUS_APPLIED)
    bake.assert_complete("query parameter 3, applied")


HISTORY_READ = ["tests/unit/test_orders.py::test_an_orders_history_lists_its_changes"]
UNDOCUMENTED = [
    "tests/unit/test_openapi.py::test_document_lists_every_route_with_its_methods_and_nothing_else",
    "tests/unit/test_openapi.py::test_every_operation_on_orders_documents_a_database_outage",
]


def test_an_endpoint_is_red_until_it_says_who_may_call_it_and_is_documented(bake: Bake) -> None:
    bake.edit(HISTORY_TEST)
    bake.assert_layers("endpoint 1, a test", unit=HISTORY_READ, says="assert 404 == 200")

    bake.edit(HISTORY_ROUTE)
    bake.assert_layers(
        "endpoint 2, its route",
        unit=[
            *HISTORY_READ,
            *UNDOCUMENTED,
            "tests/unit/test_openapi.py::test_every_view_says_who_may_call_it",
        ],
        says="assert 403 == 200",
    )

    bake.edit(HISTORY_CALLERS)
    bake.assert_layers("endpoint 3, who may call it", unit=UNDOCUMENTED)

    bake.edit(HISTORY_DOCUMENTED)
    bake.assert_layers(
        "endpoint 4, documented",
        unit=["tests/unit/test_openapi.py::test_operation_ids_are_the_names_clients_generate_from"],
    )

    bake.edit(HISTORY_NAMED)
    bake.assert_complete("endpoint 5, its operation id kept")
