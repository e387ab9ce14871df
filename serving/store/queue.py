"""The queue: batches of scores, each child's place in the latest, and how much of a
flagging group's capacity a batch has used. Batches are written by serving.store.batch.

A page of the queue is found by a cursor: the last row's (score, rate, child id), which
the service encodes and parses back strictly; anything else was not issued here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from models.flagging import FlaggingPolicy
from serving.limits import IDENTIFIER
from serving.store import cursors
from serving.store.tables import BATCHES, DECISIONS, SCORES


@dataclass(frozen=True)
class BatchSummary:
    id: int
    as_of: date
    model_version: str
    children: int
    flagged: int
    created_at: datetime
    created_by: str


def latest_batch(connection: Connection) -> BatchSummary | None:
    row = connection.execute(select(BATCHES).order_by(BATCHES.c.id.desc()).limit(1)).mappings()
    found = row.first()
    if found is None:
        return None
    return BatchSummary(
        found["id"],
        found["as_of"],
        found["model_version"],
        found["children"],
        found["flagged"],
        found["created_at"],
        found["created_by"],
    )


def batch_score(connection: Connection, batch_id: int, child_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(SCORES).where(SCORES.c.batch_id == batch_id, SCORES.c.child_id == child_id)
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def first_flagged(connection: Connection, child_ids: Sequence[str]) -> dict[str, date]:
    """The date of the earliest batch that flagged each child (its as-of date: a batch
    scored today for a date a year ago flagged its children a year ago)."""
    if not child_ids:
        return {}
    rows = connection.execute(
        select(SCORES.c.child_id, func.min(BATCHES.c.as_of))
        .join(BATCHES, BATCHES.c.id == SCORES.c.batch_id)
        .where(SCORES.c.child_id.in_(list(child_ids)), SCORES.c.flagged.is_(True))
        .group_by(SCORES.c.child_id)
    ).all()
    return {str(child): at for child, at in rows}


@dataclass(frozen=True)
class DistrictCount:
    """A district's children in a batch: scored, in each tier, and flagged."""

    district: str
    children: int
    by_tier: dict[str, int]
    flagged: int


def district_counts(
    connection: Connection, batch_id: int, districts: Sequence[str]
) -> list[DistrictCount]:
    """For each of ``districts`` (in order), its children in the batch by tier and flag."""
    rows = connection.execute(
        select(
            SCORES.c.district,
            SCORES.c.tier,
            func.count(),
            func.sum(case((SCORES.c.flagged.is_(True), 1), else_=0)),
        )
        .where(SCORES.c.batch_id == batch_id, SCORES.c.district.in_(list(districts)))
        .group_by(SCORES.c.district, SCORES.c.tier)
    ).all()
    counts = []
    for district in districts:
        mine = [row for row in rows if row[0] == district]
        counts.append(
            DistrictCount(
                district,
                sum(int(row[2]) for row in mine),
                {str(row[1]): int(row[2]) for row in mine},
                sum(int(row[3] or 0) for row in mine),
            )
        )
    return counts


@dataclass(frozen=True)
class Capacity:
    """A flagging group's capacity in a batch: the flags the policy allows, the flags
    given, and the lowest rate flagged (where the capacity ran out, if it did)."""

    allowed: int
    flagged: int
    lowest: float | None

    @property
    def left(self) -> int:
        return max(0, self.allowed - self.flagged)


def capacity_of(
    connection: Connection, batch_id: int, district: str, policy: FlaggingPolicy
) -> Capacity:
    """The capacity of the district's flagging group in the batch (the district, or the
    whole batch for a top-percent policy)."""
    scope = [SCORES.c.batch_id == batch_id]
    if policy.by_district:
        scope.append(SCORES.c.district == district)
    row = connection.execute(
        select(
            func.count(),
            func.sum(case((SCORES.c.flagged.is_(True), 1), else_=0)),
            func.min(case((SCORES.c.flagged.is_(True), SCORES.c.probability), else_=None)),
        ).where(*scope)
    ).one()
    children, flagged, lowest = int(row[0]), int(row[1] or 0), row[2]
    allowed = policy.flags_allowed(children)  # the policy's one rule (models.flagging)
    return Capacity(allowed, flagged, float(lowest) if lowest is not None else None)


def capacity_left(
    connection: Connection, batch_id: int, district: str, policy: FlaggingPolicy
) -> tuple[int, float | None]:
    """How many more flags the district's group allows, and the lowest rate flagged."""
    found = capacity_of(connection, batch_id, district, policy)
    return found.left, found.lowest


ORDERS: Final = ("rate", "district", "undecided")  # the queue's orders; the first is the default


def _lead(order: str, decided: Any) -> Any:
    """The key an order sorts by before the rate (None for the rate's own order): the
    district, or whether a decision was recorded (the undecided first)."""
    if order == "district":
        return SCORES.c.district
    if order == "undecided":
        return case((decided.is_(None), 0), else_=1)
    return None


def _cursor_encode(order: str, row: dict[str, Any]) -> str:
    key = (row["score_1_20"], row["probability"], row["child_id"])
    return cursors.encode(*key) if order == ORDERS[0] else cursors.encode(order, row["lead"], *key)


def _cursor_decode(cursor: str, order: str) -> tuple[Any, int, float, str]:
    """The position a cursor holds, parsed strictly: for the rate's order a 1-20 score, a
    rate in [0, 1] and a child id; for another order, the order's name, its lead key
    (a district, or 0/1 for decided) and the same three. A cursor of another order, or
    anything else, was not issued for this page."""
    size = 3 if order == ORDERS[0] else 5
    position = cursors.position(cursor, size)
    if position is not None:
        lead = None
        if size == 5:
            named, lead, *position = position
            valid_lead = IDENTIFIER.matches(lead) if order == "district" else lead in (0, 1)
            if named != order or type(lead) not in (str, int) or not valid_lead:
                cursors.refused()
        score, probability, child_id = position
        if (
            type(score) is int  # bool is an int subclass: excluded
            and 1 <= score <= 20
            and type(probability) in (int, float)
            and 0.0 <= probability <= 1.0  # NaN fails too
            and IDENTIFIER.matches(child_id)
        ):
            return lead, score, float(probability), child_id
    cursors.refused()


def _after(position: tuple[Any, int, float, str], lead: Any) -> Any:
    """The rows after a cursor's position: by the lead key (ascending), then the highest
    score, the highest rate and the child id."""
    key, score, probability, child_id = position
    tail = or_(
        SCORES.c.score_1_20 < score,
        and_(SCORES.c.score_1_20 == score, SCORES.c.probability < probability),
        and_(
            SCORES.c.score_1_20 == score,
            SCORES.c.probability == probability,
            SCORES.c.child_id > child_id,
        ),
    )
    return tail if lead is None else or_(lead > key, and_(lead == key, tail))


def queue(
    connection: Connection,
    batch: BatchSummary,
    districts: Sequence[str],
    tier: str | None,
    undecided: bool,
    flagged_only: bool,
    limit: int,
    cursor: str | None,
    order: str = ORDERS[0],
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a batch's children in ``districts``, highest score first (then highest
    rate, then child id), or first by district or with the undecided first (``order``),
    with the latest decision recorded since the batch (``decided_at``, ``decided_action``,
    ``decided_agrees``, ``decided_reason``; None if none)."""
    latest_decision = (
        select(DECISIONS.c.child_id, func.max(DECISIONS.c.id).label("decision_id"))
        .where(DECISIONS.c.created_at >= batch.created_at)
        .group_by(DECISIONS.c.child_id)
        .subquery()
    )
    decision = DECISIONS.alias("decision")
    lead = _lead(order, latest_decision.c.decision_id)
    query = (
        select(
            SCORES,
            decision.c.created_at.label("decided_at"),
            decision.c.action.label("decided_action"),
            decision.c.agrees.label("decided_agrees"),
            decision.c.reason_code.label("decided_reason"),
            *([] if lead is None else [lead.label("lead")]),
        )
        .join(latest_decision, latest_decision.c.child_id == SCORES.c.child_id, isouter=True)
        .join(decision, decision.c.id == latest_decision.c.decision_id, isouter=True)
        .where(SCORES.c.batch_id == batch.id, SCORES.c.district.in_(list(districts)))
        .order_by(
            *([] if lead is None else [lead]),
            SCORES.c.score_1_20.desc(),
            SCORES.c.probability.desc(),
            SCORES.c.child_id,
        )
        .limit(limit + 1)
    )
    if flagged_only:
        query = query.where(SCORES.c.flagged.is_(True))
    if tier is not None:
        query = query.where(SCORES.c.tier == tier)
    if undecided:
        query = query.where(latest_decision.c.decision_id.is_(None))
    if cursor:
        query = query.where(_after(_cursor_decode(cursor, order), lead))
    rows = [dict(row) for row in connection.execute(query).mappings()]
    page, more = rows[:limit], len(rows) > limit
    following = _cursor_encode(order, page[-1]) if more and page else None
    for row in page:
        row["reasons"] = json.loads(row["reasons"])
    return page, following
