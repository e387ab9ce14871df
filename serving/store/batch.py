"""Writing a batch: every child of the store scored on one date, the caseworkers' queue.

Why: the queue must show the scores `riskflag score` and the Spark engine would give for
the same children on the same date, so a batch is scored the one way the project scores
(``models.batch.score_batch``: the same features, scores, top factors and flags ranked
over the whole batch by the flagging policy), never by a loop of its own. And a queue is
all or nothing: a batch that fails leaves no half queue behind.

How: the store's children and events are read back as case histories up to the latest
loaded export; ``score_batch`` scores them with the top three reasons; the batch row and
its scores are then inserted in one transaction, in chunks within SQLite's and
PostgreSQL's bound-parameter limits. Each score's ``reasons`` is JSON: per reason the
factor, its log-odds, its points and its value on the date (``factor_i_value``, which
score_batch carries as JSON text, decoded here so the value keeps its type).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final

import polars as pl
from sqlalchemy import Engine, insert
from sqlalchemy.engine import Connection

from features.contract import CaseHistories
from features.deployment import Deployment
from models.batch import score_batch
from models.drift import Tally
from models.flagging import FlaggingPolicy
from models.monitoring import MonitoringPolicy, load_monitoring_policy
from serving.champion import Served
from serving.clock import utc_now
from serving.errors import ConflictError, InvalidError
from serving.explain import store_histories
from serving.store import separations as separated
from serving.store.children import exported_at
from serving.store.load import read_frames
from serving.store.monitoring import checks_for_batch, record_checks
from serving.store.queue import BatchSummary
from serving.store.tables import BATCHES, SCORES

REASONS_KEPT: Final = 3
CHUNK_ROWS: Final = 2_000  # x 8 columns: within SQLite's and PostgreSQL's parameter limits
STORED: Final = ("child_id", "district", "probability", "score_1_20", "tier", "flagged")


def write_batch(
    engine: Engine,
    served: Served,
    policy: FlaggingPolicy,
    deployment: Deployment,
    as_of: date,
    created_by: str,
    monitoring: MonitoringPolicy | None = None,
) -> BatchSummary:
    """Score every child in the store on ``as_of`` into a new batch, in one transaction,
    with the batch's monitoring checks (serving.store.monitoring).

    Parameters
    ----------
    engine
        The store.
    served
        The model to score with, and its version and SHA-256 (recorded with the batch).
    policy
        The flagging policy: tiers, and each flagging group's capacity.
    deployment
        The deployment the store's export was loaded under.
    as_of
        The date scored; at most the latest export's date.
    created_by
        Who asked for the batch (recorded with it).
    monitoring
        What counts as a problem in the batch's checks (default: the shipped policy).

    Returns
    -------
    BatchSummary
        The new batch: its id, date, model version, children scored and flagged.

    Raises
    ------
    ConflictError
        ``no_data``: the store holds no loaded export.
    InvalidError
        ``body.as_of`` (``within_export``): ``as_of`` is after the latest export;
        ``population``: no child of the store is in the model's population on ``as_of``.
        In either case no batch is written.
    """
    histories = store_case_histories(engine, deployment, as_of)
    reference = served.model.reference
    tally = Tally(reference) if reference is not None else None
    watch = tally.add if tally is not None else None
    scored = score_batch(histories, served.model, policy, as_of, REASONS_KEPT, watch=watch)
    if scored.height == 0:
        message = f"no child in the store is in the model's population on {as_of}"
        raise InvalidError(None, "population", message)
    monitoring = monitoring or load_monitoring_policy(None)
    with engine.connect() as connection:
        checks = checks_for_batch(connection, histories, as_of, scored, tally, policy, monitoring)
    created_at, flagged = utc_now(), int(scored["flagged"].sum())
    with engine.begin() as connection:  # all or nothing: no half queue
        batch_id = _insert_batch(
            connection, served, as_of, created_at, created_by, scored.height, flagged
        )
        record_checks(connection, batch_id, checks, monitoring.digest())
        rows = score_rows(scored, batch_id)
        for start in range(0, len(rows), CHUNK_ROWS):
            connection.execute(insert(SCORES), rows[start : start + CHUNK_ROWS])
    return BatchSummary(
        batch_id, as_of, served.version, scored.height, flagged, created_at, created_by
    )


def store_case_histories(engine: Engine, deployment: Deployment, as_of: date) -> CaseHistories:
    """The store's case histories up to its latest export, once ``as_of`` is known to be
    within it."""
    with engine.connect() as connection:
        until = exported_at(connection)
    if until is None:
        message = "the store holds no loaded export: run `riskflag db load DIR` first"
        raise ConflictError(message, code="no_data")
    if as_of > until.date():
        message = f"as_of {as_of} is after the latest export ({until.date()})"
        raise InvalidError("as_of", "within_export", message, where="body")
    children, events = read_frames(engine)
    with engine.connect() as connection:
        markings = separated.frame(connection)
    histories = store_histories(children, events, until, deployment)
    return replace(histories, separations=markings)


def _insert_batch(
    connection: Connection,
    served: Served,
    as_of: date,
    created_at: datetime,
    created_by: str,
    children: int,
    flagged: int,
) -> int:
    """The batch's row: which model, which date, by whom, when, how many; its new id."""
    batch_id: int = connection.execute(
        insert(BATCHES)
        .values(
            as_of=as_of,
            model_version=served.version,
            model_sha256=served.sha256,
            model_family=served.model.family,
            created_at=created_at,
            created_by=created_by,
            children=children,
            flagged=flagged,
        )
        .returning(BATCHES.c.id)
    ).scalar_one()
    return batch_id


def score_rows(scored: pl.DataFrame, batch_id: int) -> list[dict[str, Any]]:
    """``score_batch``'s rows as the batch's ``batch_scores`` rows.

    Parameters
    ----------
    scored
        ``score_batch``'s output (top ``REASONS_KEPT`` factors, or fewer if the model has
        fewer).
    batch_id
        The batch they belong to.

    Returns
    -------
    list of dict
        One row per child: its place in the batch and ``reasons``, JSON of the factors
        with their log-odds, points and value.
    """
    slots = [i for i in range(1, REASONS_KEPT + 1) if f"factor_{i}" in scored.columns]
    reasons = [
        f"factor_{i}{part}" for i in slots for part in ("", "_log_odds", "_points", "_value")
    ]
    return [
        {
            "batch_id": batch_id,
            "child_id": row["child_id"],
            "district": row["district"],
            "probability": float(row["probability"]),
            "score_1_20": int(row["score_1_20"]),
            "tier": str(row["tier"]),
            "flagged": bool(row["flagged"]),
            "reasons": json.dumps(
                [_reason(row, i) for i in slots if row[f"factor_{i}"] is not None]
            ),
        }
        for row in scored.select(*STORED, *reasons).iter_rows(named=True)
    ]


def _reason(row: dict[str, Any], i: int) -> dict[str, Any]:
    value = row[f"factor_{i}_value"]
    return {
        "factor": row[f"factor_{i}"],
        "log_odds": row[f"factor_{i}_log_odds"],
        "points": row[f"factor_{i}_points"],
        "value": None if value is None else json.loads(value),
    }
