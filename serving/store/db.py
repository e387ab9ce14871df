"""Engines and migrations: SQLite by default, PostgreSQL (or any SQLAlchemy URL) as the
settings name it (serving.settings: ``RISKFLAG_DATABASE_URL``). The schema is Alembic's,
migrated at the service's start-up and by `riskflag db migrate`, and nowhere else: every
other command checks that the store is at the latest schema (``require_current``).

An engine never puts a statement's parameters into an error (``hide_parameters``): a
failing statement's message reaches exception chains and logs, and its parameters are
children's ids and caseworkers' notes."""

from __future__ import annotations

from importlib import resources
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

DEFAULT_DATABASE_URL: Final = "sqlite:///riskflag.db"


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message says which and why (no data)."""


def _sqlite_pragmas(dbapi_connection: object, _: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the store; SQLite gets foreign keys and write-ahead logging."""
    chosen = url
    if chosen.startswith("postgresql://"):
        chosen = "postgresql+psycopg://" + chosen.removeprefix("postgresql://")
    try:
        engine = create_engine(chosen, pool_pre_ping=True, hide_parameters=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        # the URL may hold a password: name the kind of error, never echo the URL
        raise StoreError(f"database URL cannot be used ({type(exc).__name__})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("serving") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (a no-op when it is there already)."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise StoreError(
            f"database {engine.url.render_as_string(hide_password=True)}: cannot migrate "
            f"({type(exc).__name__})"
        ) from exc


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def require_current(engine: Engine) -> None:
    """Nothing if the store is at the latest schema; otherwise StoreError saying to run
    `riskflag db migrate` (a command never migrates by the way)."""
    shown = engine.url.render_as_string(hide_password=True)
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise StoreError(f"database {shown}: cannot be reached ({type(exc).__name__})") from None
    try:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        version = None  # no schema yet
    finally:
        connection.close()
    head = head_revision(engine)
    if version != head:
        raise StoreError(
            f"the store's schema is at {version or 'none'}, not {head}: "
            "run `riskflag db migrate` first"
        )


# what a request reads first: the schema's version and the tables every route touches
PROBED: Final = ("alembic_version", "users", "tokens", "audit", "children", "batches")


def probe(engine: Engine) -> None:
    """Open the store on a new connection, as a request whose pool has none idle does, and
    read what every request reads; StoreError says why it cannot.

    A pooled connection proves little: SQLite's stays usable on a file that was removed
    or replaced, and a new one would silently create an empty file (the probe opens the
    file read-write, never creating it)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = make_url(f"sqlite:///file:{url.database}?mode=rw&uri=true")
    fresh = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        with fresh.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            for table in PROBED[1:]:
                connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"the store cannot be read ({type(exc).__name__})") from None
    finally:
        fresh.dispose()
    if version != head_revision(engine):
        raise StoreError(f"the store's schema is at {version}, not {head_revision(engine)}")
