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
from typing import Any

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


def _cursor_encode(score: int, probability: float, child_id: str) -> str:
    return cursors.encode(score, probability, child_id)


def _cursor_decode(cursor: str) -> tuple[int, float, str]:
    """The position a cursor holds, parsed strictly: a 1-20 score, a rate in [0, 1] and a
    child id, exactly as _cursor_encode writes them. Anything else was not issued here."""
    position = cursors.position(cursor, 3)
    if position is not None:
        score, probability, child_id = position
        if (
            type(score) is int  # bool is an int subclass: excluded
            and 1 <= score <= 20
            and type(probability) in (int, float)
            and 0.0 <= probability <= 1.0  # NaN fails too
            and IDENTIFIER.matches(child_id)
        ):
            return score, float(probability), child_id
    cursors.refused()


def queue(
    connection: Connection,
    batch: BatchSummary,
    districts: Sequence[str],
    tier: str | None,
    undecided: bool,
    flagged_only: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a batch's children in ``districts``, highest score first (then highest
    rate, then child id), with the latest decision recorded since the batch (``decided_at``,
    ``decided_action``, ``decided_agrees``, ``decided_reason``; None if none)."""
    latest_decision = (
        select(DECISIONS.c.child_id, func.max(DECISIONS.c.id).label("decision_id"))
        .where(DECISIONS.c.created_at >= batch.created_at)
        .group_by(DECISIONS.c.child_id)
        .subquery()
    )
    decision = DECISIONS.alias("decision")
    query = (
        select(
            SCORES,
            decision.c.created_at.label("decided_at"),
            decision.c.action.label("decided_action"),
            decision.c.agrees.label("decided_agrees"),
            decision.c.reason_code.label("decided_reason"),
        )
        .join(latest_decision, latest_decision.c.child_id == SCORES.c.child_id, isouter=True)
        .join(decision, decision.c.id == latest_decision.c.decision_id, isouter=True)
        .where(SCORES.c.batch_id == batch.id, SCORES.c.district.in_(list(districts)))
        .order_by(SCORES.c.score_1_20.desc(), SCORES.c.probability.desc(), SCORES.c.child_id)
        .limit(limit + 1)
    )
    if flagged_only:
        query = query.where(SCORES.c.flagged.is_(True))
    if tier is not None:
        query = query.where(SCORES.c.tier == tier)
    if undecided:
        query = query.where(latest_decision.c.decision_id.is_(None))
    if cursor:
        score, probability, child_id = _cursor_decode(cursor)
        query = query.where(
            or_(
                SCORES.c.score_1_20 < score,
                and_(SCORES.c.score_1_20 == score, SCORES.c.probability < probability),
                and_(
                    SCORES.c.score_1_20 == score,
                    SCORES.c.probability == probability,
                    SCORES.c.child_id > child_id,
                ),
            )
        )
    rows = [dict(row) for row in connection.execute(query).mappings()]
    page, more = rows[:limit], len(rows) > limit
    following = None
    if more and page:
        last = page[-1]
        following = _cursor_encode(last["score_1_20"], last["probability"], last["child_id"])
    for row in page:
        row["reasons"] = json.loads(row["reasons"])
    return page, following
