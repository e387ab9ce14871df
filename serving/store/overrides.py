"""What the overrides report reads: every decision with its score, reason and model
version; and the latest batch's children with their flag, their attributes and the
action their caseworkers took since the batch. No child id leaves this module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from serving.store.queue import BatchSummary
from serving.store.tables import CHILDREN, DECISIONS, SCORES


def decisions(connection: Connection, districts: Sequence[str] | None) -> list[dict[str, Any]]:
    """Every decision (of ``districts``, or the whole city for None): its id, district,
    action, agreement, reason, score, model version and time."""
    query = select(
        DECISIONS.c.id, DECISIONS.c.district, DECISIONS.c.action, DECISIONS.c.agrees,
        DECISIONS.c.reason_code, DECISIONS.c.score_1_20, DECISIONS.c.model_version,
        DECISIONS.c.created_at,
    ).order_by(DECISIONS.c.id)  # fmt: skip
    if districts is not None:
        query = query.where(DECISIONS.c.district.in_(list(districts)))
    return [dict(row) for row in connection.execute(query).mappings()]


def batch_children(
    connection: Connection, batch: BatchSummary, districts: Sequence[str] | None
) -> list[dict[str, Any]]:
    """The batch's children: district, sex, hukou, ethnicity, whether the batch flagged
    them, and the action of their latest decision on this batch (None: no decision)."""
    latest = (
        select(DECISIONS.c.child_id, DECISIONS.c.action, DECISIONS.c.id)
        .where(DECISIONS.c.batch_id == batch.id)
        .order_by(DECISIONS.c.id)
    )
    acted: dict[str, str] = {}
    for row in connection.execute(latest):
        acted[row.child_id] = row.action  # the latest decision about a child wins
    query = (
        select(
            SCORES.c.child_id,
            SCORES.c.district,
            SCORES.c.flagged,
            CHILDREN.c.sex,
            CHILDREN.c.hukou,
            CHILDREN.c.ethnicity,
        )
        .join(CHILDREN, CHILDREN.c.child_id == SCORES.c.child_id)
        .where(SCORES.c.batch_id == batch.id)
    )
    if districts is not None:
        query = query.where(SCORES.c.district.in_(list(districts)))
    return [
        {**{k: v for k, v in row.items() if k != "child_id"}, "action": acted.get(row["child_id"])}
        for row in connection.execute(query).mappings()
    ]
