"""Monitoring in the store: what the checks of a batch read (the records' links, the
children reaching the flagging tier in earlier batches) and the checks themselves,
written with their batch (append-only, migration 0011); and the outcome reports of past
batches, kept once judged (append-only, migration 0012)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection

from features.contract import CaseHistories
from features.input_checks import check_inputs
from models.drift import Tally, drift
from models.flagging import TIERS, FlaggingPolicy
from models.monitoring import (
    NOTICE,
    Check,
    MonitoringPolicy,
    drift_checks,
    flag_checks,
    input_checks,
    score_check,
)
from serving.store.tables import BATCH_CHECKS, BATCH_OUTCOMES, BATCHES, EVENTS, LINKS, SCORES


def checks_for_batch(
    connection: Connection,
    histories: CaseHistories,
    as_of: date,
    scored: pl.DataFrame,
    tally: Tally | None,
    flagging: FlaggingPolicy,
    policy: MonitoringPolicy,
) -> list[Check]:
    """Every check of a batch about to be written (models.monitoring): its inputs, its
    features' drift (``tally``: None for a model trained before drift was watched), its
    scores, and per district the children reaching the flagging tier against the last
    batches."""
    since = datetime(as_of.year, as_of.month, as_of.day) - timedelta(weeks=policy.inputs.weeks)
    links = links_of_events(connection, since)
    found = check_inputs(histories, as_of, policy.inputs, links)
    reaching_tiers = TIERS[TIERS.index(flagging.flag_from) :]
    reaching = scored.filter(pl.col("tier").cast(pl.String).is_in(reaching_tiers))
    now = {str(k): int(n) for k, n in reaching.group_by("district").len().iter_rows()}
    before = reaching_latest(connection, reaching_tiers, policy.flags.last_batches)
    return [
        *input_checks(found),
        score_check(
            scored["score_1_20"].to_list(), tally.reference.scores if tally else (), policy.drift
        ),
        *flag_checks(now, before, policy.flags),
        *drift_checks(drift(tally) if tally is not None else None, policy.drift),
    ]


def links_of_events(connection: Connection, since: datetime) -> pl.DataFrame | None:
    """How each record recorded since ``since`` was linked (event_id, how: what
    features.input_checks reads of the weeks it compares), or None where riskflag linked
    nothing in this store."""
    query = (
        select(EVENTS.c.event_id, LINKS.c.how)
        .join(
            LINKS,
            and_(LINKS.c.source == EVENTS.c.source, LINKS.c.record_id == EVENTS.c.source_record_id),
        )
        .where(EVENTS.c.recorded_at >= since)
    )
    rows = connection.execute(query).all()
    if not rows:
        return None
    schema = {"event_id": pl.String, "how": pl.String}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def reaching_latest(
    connection: Connection, tiers: Sequence[str], count: int
) -> list[dict[str, int]]:
    """Per district, the children reaching ``tiers`` in each of the latest ``count``
    batches (those before the one being written), newest first."""
    query = select(BATCHES.c.id).order_by(BATCHES.c.id.desc()).limit(count)
    ids = list(connection.execute(query).scalars())
    found: dict[int, dict[str, int]] = {batch: {} for batch in ids}
    rows = connection.execute(
        select(SCORES.c.batch_id, SCORES.c.district, func.count())
        .where(SCORES.c.batch_id.in_(ids), SCORES.c.tier.in_(list(tiers)))
        .group_by(SCORES.c.batch_id, SCORES.c.district)
    ).all()
    for batch, district, n in rows:
        found[int(batch)][str(district)] = int(n)
    return [found[batch] for batch in ids]


def record_checks(
    connection: Connection, batch_id: int, checks: Sequence[Check], policy_sha256: str
) -> None:
    if checks:
        connection.execute(
            insert(BATCH_CHECKS),
            [
                {"batch_id": batch_id, "kind": c.kind, "subject": c.subject[:128],
                 "value": float(c.value), "expected": float(c.expected),
                 "problem": c.problem, "policy_sha256": policy_sha256}
                for c in checks
            ],
        )  # fmt: skip


def has_batch(connection: Connection, batch_id: int) -> bool:
    return batch_row(connection, batch_id) is not None


def batch_row(connection: Connection, batch_id: int) -> dict[str, Any] | None:
    found = connection.execute(select(BATCHES).where(BATCHES.c.id == batch_id)).mappings().first()
    return dict(found) if found else None


def batch_rows(connection: Connection, batch_id: int) -> pl.DataFrame:
    """A batch's scored rows: child_id, probability, score_1_20, flagged."""
    columns = (SCORES.c.child_id, SCORES.c.probability, SCORES.c.score_1_20, SCORES.c.flagged)
    rows = connection.execute(select(*columns).where(SCORES.c.batch_id == batch_id)).all()
    schema = {"child_id": pl.String, "probability": pl.Float64, "score_1_20": pl.Int64,
              "flagged": pl.Boolean}  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def checks_of(connection: Connection, batch_id: int) -> list[dict[str, Any]]:
    """A batch's checks, in the order they were written (problems first within a kind)."""
    rows = connection.execute(
        select(BATCH_CHECKS).where(BATCH_CHECKS.c.batch_id == batch_id).order_by(BATCH_CHECKS.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def problems_by_batch(connection: Connection, count: int) -> list[dict[str, Any]]:
    """The latest ``count`` batches, newest first, with how many checks each ran and how
    many found a problem (models.monitoring.is_problem: a notice is not one)."""
    is_problem = BATCH_CHECKS.c.problem.is_not(None) & (BATCH_CHECKS.c.problem != NOTICE)
    rows = connection.execute(
        select(
            BATCHES.c.id, BATCHES.c.as_of, BATCHES.c.model_version, BATCHES.c.created_at,
            func.count(BATCH_CHECKS.c.id),
            func.count(BATCH_CHECKS.c.id).filter(is_problem),
        )
        .select_from(BATCHES.outerjoin(BATCH_CHECKS, BATCH_CHECKS.c.batch_id == BATCHES.c.id))
        .group_by(BATCHES.c.id, BATCHES.c.as_of, BATCHES.c.model_version, BATCHES.c.created_at)
        .order_by(BATCHES.c.id.desc())
        .limit(count)
    ).all()  # fmt: skip
    return [
        {"batch_id": r[0], "as_of": r[1], "model_version": r[2], "created_at": r[3],
         "checks": int(r[4]), "problems": int(r[5])}
        for r in rows
    ]  # fmt: skip


def unjudged(connection: Connection) -> list[dict[str, Any]]:
    """The batches whose outcomes are not kept yet, oldest first (they mature first)."""
    query = (
        select(BATCHES.c.id, BATCHES.c.as_of, BATCHES.c.model_version, BATCHES.c.model_sha256)
        .where(BATCHES.c.id.not_in(select(BATCH_OUTCOMES.c.batch_id)))
        .order_by(BATCHES.c.as_of, BATCHES.c.id)
    )
    return [dict(row) for row in connection.execute(query).mappings()]


def record_outcome(
    connection: Connection, batch_id: int, answer: dict[str, Any], judged_at: datetime
) -> None:
    """Keep a batch's outcome report (serving.monitoring's answer: aggregates only)."""
    connection.execute(
        insert(BATCH_OUTCOMES),
        {"batch_id": batch_id, "model_version": str(answer["model_version"]),
         "horizon_days": int(answer["horizon_days"]), "judged_at": judged_at,
         "report": json.dumps(answer, default=str, allow_nan=False)},
    )  # fmt: skip


def outcomes_latest(connection: Connection, count: int) -> list[dict[str, Any]]:
    """The kept outcome reports of the latest ``count`` batches judged, newest batch
    first, each with its ``judged_at``."""
    query = (
        select(BATCH_OUTCOMES.c.report, BATCH_OUTCOMES.c.judged_at)
        .join(BATCHES, BATCHES.c.id == BATCH_OUTCOMES.c.batch_id)
        .order_by(BATCHES.c.as_of.desc(), BATCHES.c.id.desc())
        .limit(count)
    )
    return [_report(row) for row in connection.execute(query).all()]


def outcome_of(connection: Connection, batch_id: int) -> dict[str, Any] | None:
    query = select(BATCH_OUTCOMES.c.report, BATCH_OUTCOMES.c.judged_at).where(
        BATCH_OUTCOMES.c.batch_id == batch_id
    )
    row = connection.execute(query).first()
    return _report(row) if row is not None else None


def _report(row: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(row[0])
    return {**found, "judged_at": row[1]}


OVER_TIME: Final = ("volume", "scores", "flags")  # the kinds whose every check is charted


def checks_over_time(connection: Connection, batch_ids: Sequence[int]) -> list[dict[str, Any]]:
    """For the monitoring page's charts, per batch of ``batch_ids``: its checks of the
    kinds in OVER_TIME, and its largest feature drift as one row (kind ``drift``,
    subject ``largest``)."""
    ids = list(batch_ids)
    columns = (BATCH_CHECKS.c.batch_id, BATCH_CHECKS.c.kind, BATCH_CHECKS.c.subject)
    rows = connection.execute(
        select(*columns, BATCH_CHECKS.c.value).where(
            BATCH_CHECKS.c.batch_id.in_(ids), BATCH_CHECKS.c.kind.in_(OVER_TIME)
        )
    ).all()
    largest = connection.execute(
        select(BATCH_CHECKS.c.batch_id, func.max(BATCH_CHECKS.c.value))
        .where(BATCH_CHECKS.c.batch_id.in_(ids), BATCH_CHECKS.c.kind == "drift")
        .group_by(BATCH_CHECKS.c.batch_id)
    ).all()
    found = [{"batch_id": r[0], "kind": r[1], "subject": r[2], "value": r[3]} for r in rows]
    return found + [
        {"batch_id": r[0], "kind": "drift", "subject": "largest", "value": r[1]} for r in largest
    ]
