"""Household control in the store: markings of a household member whose records stop
counting for a child (features.separations), written once, read for a child or for every
reading of case histories (``read_frames``' callers pass them on).

The table is append-only in the database itself (migration 0010). Rows are written in
the caller's transaction, with the audit record of the act.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

import features.separations as fs
from serving.clock import utc_now
from serving.store.corrections import Rescored, rescored_values
from serving.store.tables import SEPARATIONS


def latest_since(connection: Connection, child_id: str, member_id: str) -> date | None:
    """The latest ``since`` among the pair's markings, or None."""
    value = connection.execute(
        select(func.max(SEPARATIONS.c.since)).where(
            SEPARATIONS.c.child_id == child_id, SEPARATIONS.c.member_id == member_id
        )
    ).scalar()
    return value if isinstance(value, date) else None


def record_separation(
    connection: Connection,
    child: Mapping[str, Any],
    said: Mapping[str, Any],
    rescored: Rescored | None,
) -> dict[str, Any]:
    """Store one marking about ``child`` (child_id, district): ``said`` holds member_id,
    kind, since, reason, recorded_by, role."""
    values = {
        "child_id": child["child_id"],
        "district": child["district"],
        **said,
        "created_at": utc_now(),
        **rescored_values(rescored),
    }
    separation_id = connection.execute(
        insert(SEPARATIONS).values(**values).returning(SEPARATIONS.c.id)
    ).scalar_one()
    return {"id": separation_id, **values}


def of_child(connection: Connection, child_id: str) -> list[dict[str, Any]]:
    """The markings about a child, newest first, ``moved`` decoded."""
    rows = connection.execute(
        select(SEPARATIONS)
        .where(SEPARATIONS.c.child_id == child_id)
        .order_by(SEPARATIONS.c.id.desc())
    ).mappings()
    return [{**row, "moved": json.loads(row["moved"]) if row["moved"] else []} for row in rows]


def frame(connection: Connection, child_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Markings as features.separations reads them (its SCHEMA): every one, or those
    about ``child_ids``."""
    query = select(*(SEPARATIONS.c[name] for name in fs.SCHEMA.names()))
    if child_ids is not None:
        query = query.where(SEPARATIONS.c.child_id.in_(list(child_ids)))
    rows = connection.execute(query.order_by(SEPARATIONS.c.id)).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=fs.SCHEMA, orient="row")
