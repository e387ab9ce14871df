"""Children in the store: finding one, their case histories and the latest export.

Authorization and audit are the caller's (serving.access, serving.audit), in the same
transaction as the read they guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

import features.corrections as fc
import features.schema as s
from features.deployment import Deployment
from features.household import Household
from serving.store import corrections as corrected
from serving.store import separations as separated
from serving.store.load import read_frames
from serving.store.provenance import sourced_events
from serving.store.tables import CHILDREN, EVENTS, LOADS


@dataclass(frozen=True)
class ChildRef:
    child_id: str
    district: str
    household_id: str | None


def find_child(connection: Connection, child_id: str) -> ChildRef | None:
    row = connection.execute(
        select(CHILDREN.c.child_id, CHILDREN.c.district, CHILDREN.c.household_id).where(
            CHILDREN.c.child_id == child_id
        )
    ).first()
    return ChildRef(row[0], row[1], row[2]) if row else None


def merged_with(connection: Connection, child_id: str) -> list[str]:
    """The child's id and those of the children merged into it by linked loads, directly
    or through a child merged into it in turn (``children.merged_into``): whose decisions
    and audit trail are now this child's too. One query per generation of merges."""
    ids, frontier = [child_id], [child_id]
    while frontier:
        found = connection.execute(
            select(CHILDREN.c.child_id).where(CHILDREN.c.merged_into.in_(frontier))
        ).scalars()
        frontier = [found_id for found_id in found if found_id not in ids]
        ids.extend(frontier)
    return ids


def exported_at(connection: Connection) -> datetime | None:
    value = connection.execute(select(func.max(LOADS.c.exported_at))).scalar()
    return value if isinstance(value, datetime) else None


def household(
    engine: Engine,
    child: ChildRef,
    deployment: Deployment,
    pending: pl.DataFrame | None = None,
    separating: pl.DataFrame | None = None,
) -> Household:
    """The child's case history and its siblings' (association features read them), as
    their corrections say they are (and the ``pending`` ones: serving.store.load), with
    the household's markings of members apart from a child (and the ``separating`` one
    being made: features.separations)."""
    members = [child.child_id]
    if child.household_id:
        with engine.connect() as connection:
            members = list(
                connection.execute(
                    select(CHILDREN.c.child_id).where(
                        CHILDREN.c.household_id == child.household_id,
                        CHILDREN.c.merged_into.is_(None),
                    )
                ).scalars()
            )
    children, events = read_frames(engine, members, pending)
    with engine.connect() as connection:
        markings = separated.frame(connection, members)
    if separating is not None:
        markings = pl.concat([markings, separating])
    return Household(children, events, deployment, markings)


def history(connection: Connection, child_id: str) -> dict[str, list[dict[str, Any]]]:
    """A child's events grouped by kind (the part of the event type before the dot),
    oldest first, each with where it came from (serving.store.provenance: the partner's
    ``source`` system, ``source_record_id``, ``link_how``, ``link_probability``) read in
    the same query, as its corrections say it is (``correction``: disputed, corrected or
    None; an expunged record left out)."""
    rows = connection.execute(
        sourced_events()
        .where(EVENTS.c.child_id == child_id)
        .order_by(EVENTS.c.occurred_at, EVENTS.c.event_id)
    ).mappings()
    said = _corrections_by_record(connection, child_id)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        shown = _as_corrected(dict(row), said.get(row["event_id"]))
        if shown is not None:
            source = str(shown["event_type"]).split(".", 1)[0]
            grouped.setdefault(source, []).append(shown)
    return grouped


def _corrections_by_record(connection: Connection, child_id: str) -> dict[str, dict[str, Any]]:
    latest = fc.current(corrected.frame(connection, [child_id]))
    return {row[s.EVENT_ID]: row for row in latest.iter_rows(named=True)}


def _as_corrected(row: dict[str, Any], said: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record as its corrections say it is, with ``correction`` (its kind, or None):
    an expunged record is None (gone from the history too); a corrected one amended."""
    if said is None:
        return {**row, "correction": None}
    if said["kind"] == fc.CorrectionKind.EXPUNGED.value:
        return None
    fields = fc.parse_amended(said["amended"])
    amended = {name: fc.typed_value(name, value) for name, value in fields.items()}
    return {**row, **amended, "correction": said["kind"]}
