"""Batch scoring: every eligible child of some case histories on one date, each score with
its top factors, each factor's value and the records behind it, and flags ranked over the
whole batch.

One machine runs ``score_batch`` shard by shard; the Spark engine (models.spark) runs
``explained_rows`` in each partition and ``flag`` per flagging group; the service's store
(serving.store.batch) writes ``score_batch``'s rows as a batch. All call these same
functions: one way to build features, one way to score, one way to find the evidence.

A factor's value (``factor_i_value``) is read from the feature table while a shard's table
is at hand, the only time it is. Features differ in type (counts, yes/no, categories), so
one column holds each value as JSON text: ``3``, ``true``, ``"outlying"``; null for an
interaction of two features or a value not recorded. Text survives CSV, Parquet and
Spark's Arrow, and ``json.loads`` gives back the value with its type.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from features import schema as s
from features.build import build_features
from features.contract import CaseHistories
from features.evidence import FEATURE, FOR, evidence_table
from features.table import Shard, shard_plan
from models.flagging import FlaggingPolicy, flag
from models.riskmodel import TOP_FACTORS, RiskModel

SLOT = "__slot"
POSITION = "__position"


def score_batch(
    histories: CaseHistories,
    model: RiskModel,
    policy: FlaggingPolicy,
    as_of: date,
    top: int = TOP_FACTORS,
    shards: int | None = None,
    watch: Callable[[pl.DataFrame], None] | None = None,
) -> pl.DataFrame:
    """Every eligible child on ``as_of``: probability, 1-20 score, tier, flag, top factors
    and their records. Built shard by shard (households kept together, memory bounded);
    flags over the whole batch. ``watch`` sees each shard's feature table (the drift
    tally, models.drift.Tally.add: counted while the table is at hand, the only time)."""
    plan = shard_plan(histories, shards)
    parts = [explained_rows(histories, model, as_of, top, shard, watch) for shard in plan]
    return flag(pl.concat(parts), policy)


def explained_rows(
    histories: CaseHistories,
    model: RiskModel,
    as_of: date,
    top: int = TOP_FACTORS,
    shard: Shard = None,
    watch: Callable[[pl.DataFrame], None] | None = None,
) -> pl.DataFrame:
    """The children of ``histories`` (or of one shard) scored and explained, not flagged."""
    table = build_features(histories, model.config, model.policy, [as_of], shard)
    frame = table.frame.collect(engine="in-memory")
    if watch is not None:
        watch(frame)
    explained = with_values(model.explained(frame, top), frame)
    return with_evidence(explained, histories, model, as_of)


def factor_slots(rows: pl.DataFrame) -> list[int]:
    """The i of each ``factor_i`` column of scored rows, in column order."""
    return [
        int(c.split("_")[1]) for c in rows.columns if c.startswith("factor_") and c[7:].isdigit()
    ]


def with_values(rows: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``factor_i_value`` after each ``factor_i_points``: the factor's feature value in
    ``frame`` (the feature table ``rows`` were scored from, row for row) as JSON text.

    Parameters
    ----------
    rows
        Scored rows with ``factor_i`` columns (``RiskModel.explained``), in ``frame``'s order.
    frame
        The feature table they were scored from.

    Returns
    -------
    polars.DataFrame
        ``rows`` with a String ``factor_i_value`` per factor: null for an interaction or a
        value not recorded; a value other than a number, yes/no or text as its text.
    """
    values: dict[str, pl.Series] = {}  # by the column each follows
    for i in factor_slots(rows):
        factor = rows[f"factor_{i}"]
        texts: list[str | None] = [None] * rows.height
        for name in factor.unique().drop_nulls().to_list():
            if name in frame.columns:  # a feature, not an interaction
                where = (factor == name).arg_true()
                found = frame[name].gather(where).to_list()
                for row, value in zip(where.to_list(), found, strict=True):
                    texts[row] = _json(value)
        values[f"factor_{i}_points"] = pl.Series(f"factor_{i}_value", texts, pl.String)
    order = [
        column
        for name in rows.columns
        for column in (name, *((values[name].name,) if name in values else ()))
    ]
    return rows.with_columns(values.values()).select(order)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    plain = value if isinstance(value, bool | int | float | str) else str(value)
    return json.dumps(plain)


def with_evidence(
    rows: pl.DataFrame, histories: CaseHistories, model: RiskModel, as_of: date
) -> pl.DataFrame:
    """Add ``factor_i_event_ids``: the records behind each top factor (for a factor of
    several features, each feature's records in turn, each record once)."""
    slots = factor_slots(rows)
    specs = {spec.name: spec for spec in model.specs}
    features = pl.DataFrame(
        [
            (factor.name, position, feature)
            for factor in model.factors()[0]
            for position, feature in enumerate(factor.features)
            if feature in specs
        ],
        schema={"factor": pl.String(), POSITION: pl.Int32(), FEATURE: pl.String()},
        orient="row",
    )
    asked = (
        rows.select(s.CHILD_ID, *(pl.col(f"factor_{i}").alias(str(i)) for i in slots))
        .unpivot(index=s.CHILD_ID, variable_name=SLOT, value_name="factor")
        .join(features, on="factor")
    )
    wanted = {
        child: [specs[name] for name in names]
        for child, names in asked.group_by(s.CHILD_ID)
        .agg(pl.col(FEATURE).unique(maintain_order=True))
        .iter_rows()
    }
    records = evidence_table(histories, model.policy, wanted, as_of).select(
        FOR, FEATURE, s.EVENT_ID, s.OCCURRED_AT
    )
    behind = (
        asked.join(records, left_on=[s.CHILD_ID, FEATURE], right_on=[FOR, FEATURE])
        .sort(s.CHILD_ID, SLOT, POSITION, s.OCCURRED_AT, s.EVENT_ID)
        .group_by(s.CHILD_ID, SLOT, maintain_order=True)
        .agg(pl.col(s.EVENT_ID).unique(maintain_order=True).alias("ids"))
    )
    out = rows
    for i in slots:
        ids = behind.filter(pl.col(SLOT) == str(i)).select(
            s.CHILD_ID, pl.col("ids").alias(f"factor_{i}_event_ids")
        )
        out = out.join(ids, on=s.CHILD_ID, how="left", maintain_order="left")
    return out.with_columns(
        pl.col(f"factor_{i}_event_ids").fill_null(pl.lit([], pl.List(pl.String))) for i in slots
    )
