"""Loading a contract folder into the store, and reading it back.

`riskflag db load DIR` goes through the one loader (``load_case_histories``): a folder
that breaks any rule of the contract writes nothing. A valid folder is written in one
transaction, all or nothing (with what a linked folder adds: serving.store.linkage):

- children and events are upserted by id: new ids are inserted, rows whose values
  changed are updated (a later export corrects a record), identical rows are left alone;
  nothing is deleted (a record a later export omits may be the evidence behind a
  decision already taken);
- each load is recorded with the SHA-256 of its files; loading the same export again is
  recognised and changes nothing.

Timestamps are stored as the contract's naive local times of the deployment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import polars as pl
from sqlalchemy import Engine, Table, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

import features.corrections as fc
import features.schema as s
from features.contract import CaseHistories, load_case_histories
from features.deployment import Deployment
from serving.clock import utc_now
from serving.store import corrections as corrected
from serving.store.db import StoreError, require_current
from serving.store.linkage import LINKAGE_FILES, load_linkage, with_sources
from serving.store.tables import CHILDREN, EVENTS, LOADS

CHUNK_ROWS: Final = 2_000  # x 10 columns: within SQLite's and PostgreSQL's bound-parameter limits


@dataclass(frozen=True)
class LoadResult:
    sha256: str
    already_loaded: bool
    children: int
    events: int
    inserted: int
    updated: int
    exported_at: datetime


def folder_sha256(folder: Path) -> str:
    """SHA-256 over the names and bytes of the folder's contract files and linkage tables,
    in name order."""
    digest = hashlib.sha256()
    names = sorted(
        path.name
        for path in Path(folder).iterdir()
        if path.is_file()
        and (
            path.name.split(".")[0] in (s.CHILDREN, s.EVENTS, "export")
            or path.name in LINKAGE_FILES
        )
    )
    for name in names:
        digest.update(name.encode())
        with open(Path(folder) / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _rows(frame: pl.DataFrame) -> Iterator[list[dict[str, Any]]]:
    plain = frame.with_columns(
        pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Enum | pl.Categorical)
    )
    for start in range(0, plain.height, CHUNK_ROWS):
        yield plain.slice(start, CHUNK_ROWS).to_dicts()


def _upsert_statement(dialect: str, table: Table, rows: list[dict[str, Any]], key: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE only where a value differs."""
    columns = [c.name for c in table.columns if c.name != key]
    if dialect == "sqlite":
        lite = sqlite.insert(table).values(rows)
        changed = or_(*(table.c[c].is_distinct_from(lite.excluded[c]) for c in columns))
        return lite.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={c: lite.excluded[c] for c in columns},
            where=changed,
        ).returning(table.c[key])
    if dialect == "postgresql":
        pg = postgresql.insert(table).values(rows)
        changed = or_(*(table.c[c].is_distinct_from(pg.excluded[c]) for c in columns))
        return pg.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={c: pg.excluded[c] for c in columns},
            where=changed,
        ).returning(table.c[key])
    raise StoreError(f"the store supports SQLite and PostgreSQL, not {dialect}")


def _upsert(connection: Connection, table: Table, frame: pl.DataFrame, key: str) -> int:
    """Insert new rows, update changed ones; returns how many rows were written."""
    written = 0
    for rows in _rows(frame):
        statement = _upsert_statement(connection.dialect.name, table, rows, key)
        # RETURNING lists rows inserted or updated (not those left alone): rowcount is
        # not reliable for multi-row statements on every driver
        written += len(connection.execute(statement).all())
    return written


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def load_folder(engine: Engine, folder: Path, deployment: Deployment | None = None) -> LoadResult:
    """Validate ``folder`` against the contract and load it in one transaction.

    Raises ``ContractError`` (nothing written) for a folder that breaks the contract.
    """
    sha = folder_sha256(folder)
    histories: CaseHistories = load_case_histories(folder, deployment)
    require_current(engine)
    children = histories.children.collect()
    events = with_sources(folder, histories.events.collect())
    try:
        with engine.begin() as connection:
            known = connection.execute(select(LOADS.c.sha256).where(LOADS.c.sha256 == sha)).first()
            if known is not None:
                return LoadResult(
                    sha, True, children.height, events.height, 0, 0, histories.exported_at
                )
            before = _count(connection, CHILDREN) + _count(connection, EVENTS)
            written = _upsert(connection, CHILDREN, children, s.CHILD_ID)
            written += _upsert(connection, EVENTS, events, s.EVENT_ID)
            after = _count(connection, CHILDREN) + _count(connection, EVENTS)
            inserted = after - before
            load_id = connection.execute(
                LOADS.insert()
                .values(
                    sha256=sha,
                    source=str(Path(folder).resolve())[:1024],
                    exported_at=histories.exported_at,
                    loaded_at=utc_now(),
                    children=children.height,
                    events=events.height,
                    inserted=inserted,
                    updated=written - inserted,
                )
                .returning(LOADS.c.id)
            ).scalar_one()
            load_linkage(connection, folder, load_id)
    except SQLAlchemyError as exc:
        # the driver's message can quote row values (a child's id): name the kind only
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        raise StoreError(
            f"loading {folder} failed and was rolled back, nothing written "
            f"({type(exc).__name__}{f', SQLSTATE {code}' if code else ''})"
        ) from None
    return LoadResult(
        sha, False, children.height, events.height, inserted, written - inserted,
        histories.exported_at,
    )  # fmt: skip


def read_frames(
    engine: Engine, child_ids: Sequence[str] | None = None, pending: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Children and events from the store, typed as the contract loader types them: the
    whole store's (children merged into another, whose records have moved, left out),
    or those of ``child_ids``; the events as their corrections say they are (disputed
    and expunged records left out, corrected ones amended: features.corrections), and
    as they would be with the ``pending`` corrections too (a correction being made)."""
    children_query = select(CHILDREN).order_by(CHILDREN.c.child_id)
    events_query = select(EVENTS).order_by(EVENTS.c.event_id)
    if child_ids is None:
        children_query = children_query.where(CHILDREN.c.merged_into.is_(None))
    else:
        children_query = children_query.where(CHILDREN.c.child_id.in_(list(child_ids)))
        events_query = events_query.where(EVENTS.c.child_id.in_(list(child_ids)))
    with engine.connect() as connection:
        # declared, not guessed from the first rows: a column empty in the first hundred
        # rows (a household's amounts) must still read as its type
        children = pl.read_database(
            children_query, connection, schema_overrides=_stored(s.CHILDREN_SCHEMA)
        )
        events = pl.read_database(
            events_query, connection, schema_overrides=_stored(s.EVENTS_SCHEMA)
        )
        corrections = corrected.frame(connection, child_ids)
    if pending is not None:
        corrections = pl.concat([corrections, pending])
    typed = _typed(events, s.EVENTS_SCHEMA)
    return (
        _typed(children, s.CHILDREN_SCHEMA),
        fc.apply_corrections(typed.lazy(), corrections).collect(),
    )


def _stored(schema: pl.Schema) -> dict[str, pl.DataType]:
    """How the store returns each contract column: enums as text, integers as Int64."""
    out: dict[str, pl.DataType] = {}
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Enum | pl.Categorical):
            out[name] = pl.String()
        elif dtype.is_integer():
            out[name] = pl.Int64()
        else:
            out[name] = dtype
    return out


def _typed(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    return frame.select(
        pl.col(name).cast(pl.String).cast(dtype)
        if isinstance(dtype, pl.Enum)
        else pl.col(name).cast(dtype)
        for name, dtype in schema.items()
    )
