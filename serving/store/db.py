"""Engines and migrations: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by
``RISKFLAG_DATABASE_URL``; the schema is Alembic's, upgraded before every use."""

from __future__ import annotations

import os
from importlib import resources
from typing import Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

DEFAULT_DATABASE_URL: Final = "sqlite:///riskflag.db"


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message says which and why (no data)."""


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("RISKFLAG_DATABASE_URL") or DEFAULT_DATABASE_URL


def _sqlite_pragmas(dbapi_connection: object, _: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the store; SQLite gets foreign keys and write-ahead logging."""
    chosen = database_url(url)
    if chosen.startswith("postgresql://"):
        chosen = "postgresql+psycopg://" + chosen.removeprefix("postgresql://")
    try:
        engine = create_engine(chosen, pool_pre_ping=True)
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
