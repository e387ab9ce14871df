"""Assignments of children to caseworkers, and what the supervisor's page counts.

An assignment is never edited (the table is append-only in the database itself:
migration 0008): the latest row per child is the current assignment, and unassigning is
a row whose assignee is None. Who may assign whom is serving.supervision's rule; here
are the reads and the one write, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.engine import Connection

from serving.clock import utc_now
from serving.store.tables import ASSIGNMENTS, DECISIONS, User, UserDistrict
from serving.vocabulary import DISTRICT_ROLES


def _latest(child_ids: Sequence[str]) -> Any:
    """Each of ``child_ids``' latest assignment row id (a subquery)."""
    return (
        select(func.max(ASSIGNMENTS.c.id).label("id"))
        .where(ASSIGNMENTS.c.child_id.in_(list(child_ids)))
        .group_by(ASSIGNMENTS.c.child_id)
        .subquery()
    )


def current(connection: Connection, child_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each assigned child's current assignment row (unassigned children are absent)."""
    if not child_ids:
        return {}
    latest = _latest(child_ids)
    rows = connection.execute(
        select(ASSIGNMENTS).join(latest, latest.c.id == ASSIGNMENTS.c.id)
    ).mappings()
    return {row["child_id"]: dict(row) for row in rows if row["assignee"] is not None}


def assignees(connection: Connection, child_ids: list[str]) -> dict[str, str]:
    """Child id -> the user name of their current assignee, for the children assigned
    (the queue shows it beside each child)."""
    return {child: row["assignee"] for child, row in current(connection, child_ids).items()}


def assign(
    connection: Connection,
    child_id: str,
    district: str,
    assignee: str | None,
    assigned_by: str,
    note: str,
) -> dict[str, Any]:
    """Append an assignment (None: unassign) in the caller's transaction; the row stored."""
    values = {
        "child_id": child_id,
        "district": district,
        "assignee": assignee,
        "assigned_by": assigned_by,
        "note": note,
        "created_at": utc_now(),
    }
    row_id = connection.execute(
        insert(ASSIGNMENTS).values(**values).returning(ASSIGNMENTS.c.id)
    ).scalar_one()
    return {"id": row_id, **values}


def eligible(connection: Connection, districts: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``districts``, the active caseworkers and supervisors of it, by name:
    whom a child of the district may be assigned to."""
    rows = connection.execute(
        select(UserDistrict.district, User.name)
        .join(User, User.id == UserDistrict.user_id)
        .where(
            UserDistrict.district.in_(list(districts)),
            User.disabled_at.is_(None),
            User.role.in_([str(role) for role in DISTRICT_ROLES]),
        )
        .order_by(User.name)
    ).all()
    found: dict[str, list[str]] = {district: [] for district in districts}
    for district, name in rows:
        found[str(district)].append(str(name))
    return found


@dataclass(frozen=True)
class Tally:
    """Decisions and overrides of one group (a worker, a district, a reason)."""

    key: str
    decisions: int
    overrides: int

    @property
    def override_rate(self) -> float | None:
        return self.overrides / self.decisions if self.decisions else None


def tally(
    connection: Connection, districts: Sequence[str], since: datetime, by: str
) -> list[Tally]:
    """Decisions recorded since ``since`` in ``districts``, counted by ``by`` (a column
    of the decisions table: ``user_name``, ``district``, ``reason_code``), with the
    overrides among them; most decisions first. Every decision counts, a later one about
    the same child too: it is a worker's work, not a child's state."""
    column = DECISIONS.c[by]
    overrides = func.sum(case((DECISIONS.c.agrees.is_(False), 1), else_=0))
    rows = connection.execute(
        select(column, func.count(), overrides)
        .where(DECISIONS.c.district.in_(list(districts)), DECISIONS.c.created_at >= since)
        .group_by(column)
    ).all()
    tallies = [
        Tally(str(key) if key is not None else "", int(n), int(o or 0)) for key, n, o in rows
    ]
    return sorted(tallies, key=lambda t: (-t.decisions, t.key))
