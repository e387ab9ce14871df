"""Record corrections in the store: written once, read for a child, for an export, or for
every reading of case histories (``read_frames`` applies them: features.corrections).

The table is append-only in the database itself (migration 0009). Rows are written in the
caller's transaction, with the audit record of the act.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

import features.corrections as fc
from serving.clock import utc_now
from serving.store.tables import CHILDREN, CORRECTIONS, EVENTS


@dataclass(frozen=True)
class Rescored:
    """The child's score just before and just after a correction (None where the child
    was outside the model's population), and the factors whose points moved."""

    model_version: str
    as_of: date
    score_before: int | None
    score_after: int | None
    rate_before: float | None
    rate_after: float | None
    moved: Sequence[Mapping[str, Any]]


def rescored_values(rescored: Rescored | None) -> dict[str, Any]:
    """The columns a stored correction or marking keeps of ``rescored`` (None: no model
    was loaded, or no export dates the score)."""
    return {
        "model_version": rescored.model_version if rescored else None,
        "as_of": rescored.as_of if rescored else None,
        "score_before": rescored.score_before if rescored else None,
        "score_after": rescored.score_after if rescored else None,
        "rate_before": rescored.rate_before if rescored else None,
        "rate_after": rescored.rate_after if rescored else None,
        "moved": json.dumps(list(rescored.moved), ensure_ascii=False) if rescored else None,
    }


def find_record(connection: Connection, event_id: str) -> dict[str, Any] | None:
    """A stored record with its child's district and household, or None."""
    row = (
        connection.execute(
            select(EVENTS, CHILDREN.c.district, CHILDREN.c.household_id)
            .join(CHILDREN, CHILDREN.c.child_id == EVENTS.c.child_id)
            .where(EVENTS.c.event_id == event_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def is_expunged(connection: Connection, event_id: str) -> bool:
    found = connection.execute(
        select(CORRECTIONS.c.id).where(
            CORRECTIONS.c.event_id == event_id,
            CORRECTIONS.c.kind == fc.CorrectionKind.EXPUNGED.value,
        )
    ).first()
    return found is not None


def record_correction(
    connection: Connection,
    record: Mapping[str, Any],
    said: Mapping[str, Any],
    rescored: Rescored | None,
) -> dict[str, Any]:
    """Store one correction of ``record`` (find_record's row): ``said`` holds kind,
    amended (canonical JSON or None), reason, reference, confirmed_by, recorded_by, role."""
    values = {
        "event_id": record["event_id"],
        "child_id": record["child_id"],
        "district": record["district"],
        **said,
        "created_at": utc_now(),
        **rescored_values(rescored),
    }
    correction_id = connection.execute(
        insert(CORRECTIONS).values(**values).returning(CORRECTIONS.c.id)
    ).scalar_one()
    return {"id": correction_id, **values}


def of_children(connection: Connection, child_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The corrections of the records ``child_ids`` hold, newest first, ``moved``
    decoded."""
    held = select(EVENTS.c.event_id).where(EVENTS.c.child_id.in_(list(child_ids)))
    rows = connection.execute(
        select(CORRECTIONS)
        .where(CORRECTIONS.c.event_id.in_(held))
        .order_by(CORRECTIONS.c.id.desc())
    ).mappings()
    return [{**row, "moved": json.loads(row["moved"]) if row["moved"] else []} for row in rows]


def frame(connection: Connection, child_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Corrections as features.corrections reads them (its SCHEMA): every one, or those
    of the records ``child_ids`` hold now (by the records, not the child a correction
    named: a child merged since keeps its records' corrections)."""
    query = select(*(CORRECTIONS.c[name] for name in fc.SCHEMA.names())).order_by(CORRECTIONS.c.id)
    if child_ids is not None:
        held = select(EVENTS.c.event_id).where(EVENTS.c.child_id.in_(list(child_ids)))
        query = query.where(CORRECTIONS.c.event_id.in_(held))
    rows = connection.execute(query).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=fc.SCHEMA, orient="row")


def corrected_since(
    connection: Connection, child_ids: Sequence[str], since: datetime
) -> dict[str, int]:
    """How many corrections of their records each of ``child_ids`` has had since ``since``
    (a batch's creation: its scores do not know them yet)."""
    held = select(EVENTS.c.event_id).where(EVENTS.c.child_id.in_(list(child_ids)))
    rows = connection.execute(
        select(EVENTS.c.child_id, func.count())
        .join(CORRECTIONS, CORRECTIONS.c.event_id == EVENTS.c.event_id)
        .where(CORRECTIONS.c.event_id.in_(held), CORRECTIONS.c.created_at > since)
        .group_by(EVENTS.c.child_id)
    ).all()
    return {str(child): int(n) for child, n in rows}
