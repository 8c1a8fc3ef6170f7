"""The migrations read as Alembic users expect: numbered files in one chain, each naming the
revision before it as a literal, so that a new revision (``flask db revision``) follows the head;
and the first one makes its tables on an empty database only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from {{ cookiecutter.package_name }} import db
from tests.support.apps import MakeApp, engine_of

VERSIONS = db.MIGRATIONS / "versions"
NUMBERED = re.compile(r"^(\d{4})_[a-z0-9_]+\.py$")


def assigned_literals(path: Path) -> dict[str, object]:
    """The module-level names the file assigns a literal to (anything else is left out)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def test_every_revision_is_numbered_and_follows_the_one_before() -> None:
    files = sorted(VERSIONS.glob("*.py"))
    numbers = [NUMBERED.match(path.name) for path in files]

    assert all(numbers), [path.name for path in files]
    chain = [assigned_literals(path) for path in files]
    assert [entry.get("revision") for entry in chain] == [m[1] for m in numbers if m]
    assert [entry.get("down_revision") for entry in chain] == [
        None,
        *(entry["revision"] for entry in chain[:-1]),
    ]


def test_the_chain_has_one_head_the_highest_number() -> None:
    script = ScriptDirectory(str(db.MIGRATIONS))

    assert script.get_heads() == [max(path.name[:4] for path in VERSIONS.glob("*.py"))]


def test_a_table_already_there_fails_the_upgrade_instead_of_being_taken_as_made(
    make_app: MakeApp,
) -> None:
    engine = engine_of(make_app(schema=False))
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY)"))

    with pytest.raises(sa.exc.OperationalError, match="table orders already exists"):
        db.upgrade(engine)

    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is None
