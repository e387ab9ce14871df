"""Batch scoring on Apache Spark: the same scores, factors and records as one machine.

The champion's joblib bytes, verified on the driver, are broadcast once: each executor
fetches them once, and each of its Python workers loads them once, after checking their
SHA-256 against the registry's (``models.registry.load_payload``), keeping the model for
every partition it runs. Each partition's children (households together) are scored and
explained by ``models.batch.explained_rows``, the function one machine runs shard by
shard; flags are then ranked by ``models.flagging.flag`` within each flagging group (one
district's batch, or the whole batch for a top-percent capacity), as one machine ranks
them. The table is written as features.spark writes one: Parquet partitioned by as_of,
with the exact schema and provenance beside it (``features.table.read_table`` reads it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Final

import polars as pl
import pyarrow as pa
from pyspark import Accumulator, Broadcast
from pyspark.sql import SparkSession
from pyspark.sql import functions as sf

from features.build import AS_OF
from features.deployment import Deployment
from features.spark import PartitionJob, empty_histories, read_input
from features.spark_run import (
    PartitionFigures,
    SparkJobError,
    Tally,
    refuse_existing,
    run_partitions,
    write_partitioned,
)
from features.spark_types import arrow_schema_for, from_spark_arrow, spark_schema, to_spark_arrow
from features.table import META_PREFIX
from models.batch import explained_rows
from models.flagging import FlaggingPolicy, flag
from models.registry import load_payload
from models.riskmodel import TOP_FACTORS, RiskModel

# per Python worker: the broadcast model, loaded once and kept for every partition it runs
_LOADED: dict[str, RiskModel] = {}
DISTRICT: Final = "district"


@dataclass(frozen=True)
class ScoreJob:
    """Score and explain one partition's children (picklable: shipped to the workers)."""

    partition: PartitionJob
    payload: Broadcast[bytes]
    sha256: str
    as_of: date
    top: int
    arrow_schema: pa.Schema
    loads: Accumulator[int]

    def __call__(self, children: pa.Table, events: pa.Table) -> pa.Table:
        histories = self.partition.histories(children, events)
        rows = explained_rows(histories, self.model(), self.as_of, self.top)
        return to_spark_arrow(rows, self.arrow_schema)

    def model(self) -> RiskModel:
        model = _LOADED.get(self.sha256)
        if model is None:
            model = load_payload(self.payload.value, self.sha256)
            _LOADED.clear()
            _LOADED[self.sha256] = model
            self.loads.add(1)
        return model


@dataclass(frozen=True)
class FlagJob:
    """Flag one flagging group's rows, as one machine flags a batch."""

    policy: FlaggingPolicy
    rows: pl.Schema
    arrow_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        flagged = flag(from_spark_arrow(table, self.rows), self.policy)
        return to_spark_arrow(flagged, self.arrow_schema)


@dataclass(frozen=True)
class ScoredOnSpark:
    out: str
    children: int
    flagged: int
    partitions: int
    model_loads: int
    measured: PartitionFigures


def score_spark(
    spark: SparkSession,
    data: str,
    out: str,
    payload: bytes,
    sha256: str,
    policy: FlaggingPolicy,
    as_of: date,
    deployment: Deployment,
    partitions: int | None = None,
    top: int = TOP_FACTORS,
) -> ScoredOnSpark:
    """Every eligible child of ``data`` on ``as_of`` scored with the model whose verified
    joblib bytes are ``payload``, written to ``out``: the rows ``models.batch.score_batch``
    gives on one machine."""
    model = load_payload(payload, sha256)
    refuse_existing(spark, out)
    source = read_input(spark, data, deployment, partitions)
    if as_of > source.exported_at.date():
        raise SparkJobError(f"--as-of {as_of} is after the export ({source.exported_at.date()})")
    empty = explained_rows(empty_histories(deployment, source.exported_at), model, as_of, top)
    explained_schema = spark_schema(empty.schema)
    final = flag(empty, policy)
    final_schema = spark_schema(final.schema)
    context = spark.sparkContext
    shipped = context.broadcast(payload)
    loads = context.accumulator(0)
    job = ScoreJob(
        PartitionJob.of(deployment, source.exported_at),
        shipped,
        sha256,
        as_of,
        top,
        arrow_schema_for(explained_schema),
        loads,
    )
    spark.conf.set("spark.sql.shuffle.partitions", str(source.partitions))
    tally = Tally.on(spark)
    explained = run_partitions(source, job, explained_schema, tally)
    groups = [AS_OF, DISTRICT] if policy.capacity == "per_district" else [AS_OF]
    flagger = FlagJob(policy, empty.schema, arrow_schema_for(final_schema))

    def apply(key: tuple[Any, ...], table: pa.Table) -> pa.Table:
        return flagger(table)

    flagged = explained.groupBy(*groups).applyInArrow(apply, final_schema)
    metadata = _provenance(model, sha256, policy, as_of, source.source, top)
    try:
        write_partitioned(spark, flagged, out, metadata, final.schema)
    finally:
        shipped.destroy()
    counts = (
        spark.read.parquet(out)
        .agg(sf.count(sf.lit(1)).alias("rows"), sf.sum(sf.col("flagged").cast("int")).alias("f"))
        .collect()[0]
    )
    return ScoredOnSpark(
        out,
        int(counts["rows"]),
        int(counts["f"] or 0),
        source.partitions,
        int(loads.value),
        tally.figures(),
    )


def _provenance(
    model: RiskModel, sha256: str, policy: FlaggingPolicy, as_of: date, source: str, top: int
) -> dict[str, str]:
    values: dict[str, Any] = {
        "format": 1,
        "kind": "scores",
        "model": {"family": model.family, "sha256": sha256, "label": model.label},
        "flagging": asdict(policy),
        "as_of": [as_of.isoformat()],
        "top_factors": top,
        "source": {"folder": source},
    }
    return {
        META_PREFIX + key: json.dumps(value, ensure_ascii=False) for key, value in values.items()
    }
