"""The database: engine, per-request session, column types that mean the same on every backend,
and the Alembic migrations that make the schema."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import shutil
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from filelock import FileLock
from flask import Flask, Response, current_app, g
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from . import config, wiring
{%- if cookiecutter.database == "mariadb" %}
from .dependencies.mariadb import SERVER as MARIADB{% endif %}
{%- if cookiecutter.database == "postgresql" %}
from .dependencies.postgresql import SERVER as POSTGRESQL{% endif %}
from .problems import problem_response

MIGRATIONS = Path(__file__).with_name("migrations")
CENTS = Decimal("0.01")
# Ids as large as the API accepts (``schemas.MAX_ID``): BIGINT on a server. SQLite's INTEGER is
# already 64 bits, and only ``INTEGER PRIMARY KEY`` is its auto-incrementing rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# What the driver raises when the database cannot answer: lost, refused, timed out, or a pool
# with no connection to give. The client gets a 503 problem, never a 500 or a hang.
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
# The database servers the service can use besides its embedded SQLite file, one line each: what
# this module needs to know about each (``wiring.DatabaseServer``).
DATABASE_SERVERS: tuple[wiring.DatabaseServer, ...] = (
    # SQLite, the embedded database, needs no entry.
    {%- if cookiecutter.database == "mariadb" %}
    MARIADB,{% endif %}
    {%- if cookiecutter.database == "postgresql" %}
    POSTGRESQL,{% endif %}
)


class Base(DeclarativeBase):
    pass


class Money(sa.TypeDecorator[Decimal]):
    """An exact amount with two decimals. SQLite has no exact decimal type (it would store a float),
    so there the amount is kept as text."""

    impl = sa.Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.Numeric(12, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value).quantize(CENTS)
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(CENTS)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out. Not every backend keeps a zone, so the value
    is stored as naive UTC everywhere and the zone put back on the way out."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        # A server may need a type of its own to keep microseconds.
        server = server_for(dialect.name)
        return dialect.type_descriptor((server and server.datetime_type) or self.impl)

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class ExactString(sa.TypeDecorator[str]):
    """A string compared as written on every backend: case, accents and trailing spaces count, so
    that two callers whose names differ only so are never taken for one."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        server = server_for(dialect.name)
        if server is not None and server.exact_string_type is not None:
            return dialect.type_descriptor(server.exact_string_type(self.length))
        return dialect.type_descriptor(sa.String(self.length))


class SchemaBehind(RuntimeError):
    """The database's schema is older than this code: not ready until ``flask db upgrade``."""


class Database:
    def __init__(self, url: str, settings: Mapping[str, Any] | None = None) -> None:
        """The engine for ``url``, its waits bounded by ``settings`` (a server's: by default,
        its defaults)."""
        server = server_for(sa.engine.make_url(url).get_backend_name())
        bounds = {**(server.settings if server else {}), **(settings or {})}
        self.engine = sa.create_engine(url, pool_pre_ping=True, **_engine_options(url, bounds))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _enforce_foreign_keys)
        if server is not None:
            # What the driver cannot bound itself.
            server.bound_waits(self.engine, bounds)

    def check(self, _bound: float) -> str | None:
        # Bounded by the engine's own options: a server's connect, statement and pool timeouts.
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
        behind = schema_behind(current)
        if behind:
            raise SchemaBehind(behind)
        return "embedded" if self.engine.dialect.name == "sqlite" else None

    def close(self) -> None:
        self.engine.dispose()


DATABASE: wiring.Extension[Database] = wiring.Extension(__name__)


def _engine_options(url: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    if url in ("sqlite://", "sqlite:///:memory:"):
        # An in-memory database lives as long as its connection: share one across the process.
        return {"connect_args": {"check_same_thread": False}, "poolclass": sa.StaticPool}
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False}}
    # Bounded waits come from the server's own module, so that an unreachable server costs a
    # request seconds, not minutes.
    server = server_for(sa.engine.make_url(url).get_backend_name())
    return server.engine_options(settings) if server is not None else {}


def server_for(backend: str) -> wiring.DatabaseServer | None:
    """The database server that answers to a SQLAlchemy backend name, if the service has one."""
    for server in DATABASE_SERVERS:
        if backend in server.backends:
            return server
    return None


def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    for error in UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)
    database = Database(app.config["DATABASE_URL"], _server_settings(app))
    DATABASE.set(app, database)
    wiring.register(
        app,
        wiring.Dependency("database", database.check, required=True, close=database.close),
    )
    app.teardown_appcontext(_close_session)
    app.cli.add_command(db_cli)
    if app.config.get("EMBEDDED_DATABASE"):
        # The embedded SQLite file is brought to the latest schema on start, so that
        # ``flask run`` works on a fresh clone; server databases are migrated explicitly.
        # Processes starting together (a demo container's workers) take turns: the second
        # finds the schema at head, instead of failing on tables the first made meanwhile.
        with FileLock(f"{database.engine.url.database}.lock"):
            upgrade(database.engine)


def _server_settings(app: Flask) -> dict[str, Any]:
    """The database server's own settings (its bounded waits), each a duration; none for SQLite."""
    url = sa.engine.make_url(app.config["DATABASE_URL"])
    server = server_for(url.get_backend_name())
    if server is None:
        return {}
    wiring.settings(app, server.settings)
    return {name: config.seconds(app, name) for name in server.settings}


def _database_unavailable(error: Exception) -> Response:
    """The database cannot be reached (or its pool is exhausted): the request can be retried."""
    logging.getLogger(__name__).warning("database unavailable: %s", error)
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
    return problem_response(
        503, "Service Unavailable", "The database did not answer; try again shortly."
    )


def database() -> Database:
    return DATABASE.of(current_app)


def session() -> Session:
    """The session of the current application context, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    current: Session = g.db_session
    return current


def _close_session(_exc: BaseException | None) -> None:
    current = g.pop("db_session", None)
    if current is not None:
        current.close()


def schema_behind(current: tuple[str, ...]) -> str | None:
    """Why a schema at ``current`` (its Alembic heads) is older than this code needs, if it is.
    A revision this code does not know is a newer one (migrated ahead of a rolling update, whose
    changes keep the running code working): this code is not behind it."""
    script = _migrations()
    head = script.get_current_head()
    if head in current:
        return None
    if not current:
        return f"the database has no schema; this code needs revision {head} (flask db upgrade)"
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            return None
    return f"the schema is at {', '.join(current)}; this code needs {head} (flask db upgrade)"


@functools.cache
def _migrations() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # New revisions are named like the first (0002_add_a_note.py); migrations/env.py numbers them.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("revision_environment", "true")
    config.attributes["connection"] = connection
    return config


# Alembic writes code ruff would reformat (quotes, long lines): ruff tidies each new revision, so
# that it passes the project's lint as written.
RUFF_HOOKS = {
    "hooks": "ruff_fix, ruff_format",
    "ruff_fix.type": "exec",
    "ruff_fix.executable": "ruff",
    "ruff_fix.options": "check --fix --quiet REVISION_SCRIPT_FILENAME",
    "ruff_format.type": "exec",
    "ruff_format.executable": "ruff",
    "ruff_format.options": "format --quiet REVISION_SCRIPT_FILENAME",
}


def write_revision(connection: sa.Connection, message: str, autogenerate: bool) -> None:
    """Writes the next revision into the migrations, tidied by ruff when it is installed."""
    config = alembic_config(connection)
    if shutil.which("ruff"):
        for name, value in RUFF_HOOKS.items():
            config.set_section_option("post_write_hooks", name, value)
    else:
        click.echo("ruff is not installed: run `ruff check --fix` and `ruff format` on it")
    command.revision(config, message=message, autogenerate=autogenerate)


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def stamp(engine: sa.Engine, revision: str = "head") -> None:
    """Records ``revision`` as the schema's without running a migration: for a schema made
    otherwise (the unit tests' ``create_all``)."""
    # From the migrations as read once: reading every revision file again costs each stamp
    # milliseconds, and the unit tests stamp dozens of databases.
    with engine.begin() as connection:
        MigrationContext.configure(connection).stamp(_migrations(), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


@click.group("db", help="Database schema (Alembic migrations).")
def db_cli() -> None:
    pass


@contextlib.contextmanager
def migration_engine() -> Iterator[sa.Engine]:
    """The engine schema changes run on: a server's own migration options (its statements not
    bounded as a request's are), or the service's engine for the embedded SQLite."""
    engine = database().engine
    server = server_for(engine.dialect.name)
    if server is None:
        yield engine
        return
    migrating = sa.create_engine(engine.url, poolclass=sa.NullPool, **server.migration_options)
    try:
        yield migrating
    finally:
        migrating.dispose()


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    with migration_engine() as engine:
        upgrade(engine, revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does.")
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Write the operations from the difference between the models and the database.",
)
def revision_command(message: str, autogenerate: bool) -> None:
    """Write the next migration (numbered after the head) into the package's migrations."""
    with migration_engine() as engine, engine.begin() as connection:
        write_revision(connection, message, autogenerate)


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Downgrade the schema to REVISION (``base`` removes every table)."""
    with migration_engine() as engine:
        downgrade(engine, revision)
