"""Batch scoring: every eligible child of some case histories on one date, each score with
its top factors and the records behind each factor, and flags ranked over the whole batch.

One machine runs ``score_batch`` shard by shard; the Spark engine (models.spark) runs
``explained_rows`` in each partition and ``flag`` per flagging group. Both call these same
functions: one way to build features, one way to score, one way to find the evidence.
"""

from __future__ import annotations

from datetime import date

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
) -> pl.DataFrame:
    """Every eligible child on ``as_of``: probability, 1-20 score, tier, flag, top factors
    and their records. Built shard by shard (households kept together, memory bounded);
    flags over the whole batch."""
    plan = shard_plan(histories, shards)
    parts = [explained_rows(histories, model, as_of, top, shard) for shard in plan]
    return flag(pl.concat(parts), policy)


def explained_rows(
    histories: CaseHistories,
    model: RiskModel,
    as_of: date,
    top: int = TOP_FACTORS,
    shard: Shard = None,
) -> pl.DataFrame:
    """The children of ``histories`` (or of one shard) scored and explained, not flagged."""
    table = build_features(histories, model.config, model.policy, [as_of], shard)
    frame = table.frame.collect(engine="in-memory")
    return with_evidence(model.explained(frame, top), histories, model, as_of)


def with_evidence(
    rows: pl.DataFrame, histories: CaseHistories, model: RiskModel, as_of: date
) -> pl.DataFrame:
    """Add ``factor_i_event_ids``: the records behind each top factor (for a factor of
    several features, each feature's records in turn, each record once)."""
    slots = [
        int(c.split("_")[1]) for c in rows.columns if c.startswith("factor_") and c[7:].isdigit()
    ]
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
