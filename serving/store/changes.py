"""A child's scores across batches, newest first: what the child page needs to say how
the score moved since the batch before."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection

from serving.store.tables import BATCHES, SCORES


class PastScore(NamedTuple):
    batch_id: int
    as_of: date
    score_1_20: int
    probability: float
    flagged: bool


def scores_of(connection: Connection, child_id: str, limit: int = 2) -> list[PastScore]:
    """The child's scores in the latest ``limit`` batches that scored them, newest first."""
    rows = connection.execute(
        select(
            SCORES.c.batch_id, BATCHES.c.as_of, SCORES.c.score_1_20, SCORES.c.probability,
            SCORES.c.flagged,
        )
        .join(BATCHES, BATCHES.c.id == SCORES.c.batch_id)
        .where(SCORES.c.child_id == child_id)
        .order_by(SCORES.c.batch_id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    return [PastScore(int(r[0]), r[1], int(r[2]), float(r[3]), bool(r[4])) for r in rows]
