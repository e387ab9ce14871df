"""Feature building on Apache Spark: Spark moves the rows, the one polars pipeline computes.

Spark reads children and events from Parquet (a local path or any URI Spark reads), gives
every household a partition by a hash of its key (``household_id``, or the child's own id
for a child without one: siblings stay together, so association features see the whole
household, exactly as a single-machine shard does), and hands each partition's children and
events to the very same code one machine runs (the contract's ``check_tables``, then
``features.build``) through Spark's cogrouped ``applyInArrow``. Nothing here computes a
feature, a label or an explanation; a second implementation would drift.

The result is written as Parquet partitioned by ``as_of`` (one file per Spark partition
under ``as_of=YYYY-MM-DD/``) with ``_riskflag.parquet`` beside it: an empty table holding
the exact single-machine schema and the table's provenance (registry, configuration,
policy, as-of dates, label, export), written last. ``read_table`` (features.table) reads
such a folder back to the very frame one machine writes.

Spark has no unsigned integers and no enums, so columns travel as their nearest Spark type
(UInt16 as int, Enum as string) and are cast back, strictly, on reading
(features.spark_types). Running the partitions with their figures and writing the result
are features.spark_run's, shared with scoring on Spark (models.spark).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final

import polars as pl
import pyarrow as pa
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from features import schema as s
from features.build import build_features
from features.config import FeatureConfig, Policy
from features.contract import CaseHistories, ContractError, check_tables
from features.contract.files import ReadError, parse_exported_at
from features.deployment import Deployment
from features.spark_run import (
    ERROR_MARK,
    PART,
    PartitionFigures,
    SparkJobError,
    Tally,
    first_line,
    refuse_existing,
    run_partitions,
    write_partitioned,
)
from features.spark_types import arrow_schema_for, spark_schema, to_spark_arrow
from features.table import table_metadata

# children per Spark partition when not given: a partition's peak memory in its Python
# worker is about 2.5 GB per 100,000 children with 24 as-of dates (docs/scale.md)
CHILDREN_PER_PARTITION: Final = 50_000
HASH_SEED: Final = 20261129


# ---- the session ------------------------------------------------------------------------


def session(master: str | None = None, app: str = "riskflag") -> SparkSession:
    """A Spark session (``master`` None: the one already configured, else ``local[*]``).

    Timestamps are read and written as time-zone-less local times (the contract's), and
    the UI is off unless asked for (``spark.ui.enabled``)."""
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    if (master or "local").startswith("local"):
        # local Python workers run this interpreter, with riskflag and polars; on a cluster
        # the executors' Python is the cluster's (spark.pyspark.python), riskflag installed
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "false",  # keep one group per planned partition
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # child-level tables are readable by their owner only, as one machine writes them
        "spark.hadoop.fs.permissions.umask-mode": "077",
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # a JVM that cannot start: no Java, a bad master URL
        raise SparkJobError(f"Spark could not start ({first_line(exc)})") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---- input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkInput:
    """Children and events as Spark reads them, each row tagged with its partition."""

    children: DataFrame
    events: DataFrame
    exported_at: datetime
    partitions: int
    source: str


def read_input(
    spark: SparkSession, data: str, deployment: Deployment, partitions: int | None = None
) -> SparkInput:
    """Read ``data``/children.parquet and events.parquet (files or folders of parts), check
    what only the whole export can show (unique ids), and tag rows with partitions."""
    root = data.rstrip("/")
    tables = {name: _read_parquet(spark, root, name) for name in (s.CHILDREN, s.EVENTS)}
    children, events = tables[s.CHILDREN], tables[s.EVENTS]
    exported_at = _exported_at(spark, root, deployment, events)
    parallelism = spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.shuffle.partitions", str(max(2, parallelism)))
    ids = {s.CHILDREN: s.CHILD_ID, s.EVENTS: s.EVENT_ID}
    totals = {  # one pass per table: rows and distinct ids
        name: frame.agg(sf.count(sf.lit(1)), sf.count_distinct(ids[name])).first()
        for name, frame in tables.items()
    }
    problems = [
        problem
        for name, frame in tables.items()
        if (row := totals[name]) is not None and row[0] != row[1]
        for problem in _repeated(frame, ids[name], name)
    ]
    if problems:
        raise SparkJobError(f"{root} breaks the data contract:\n  " + "\n  ".join(problems))
    row = totals[s.CHILDREN]
    count = int(row[0]) if row is not None else 0
    if partitions is None:
        partitions = max(parallelism, -(-count // CHILDREN_PER_PARTITION))
    key = sf.coalesce(sf.col(s.HOUSEHOLD_ID), sf.concat(sf.lit("child:"), sf.col(s.CHILD_ID)))
    children = children.withColumn(PART, _bucket(key, partitions))
    # an event goes where its child goes; one whose child is unknown goes by its own id and
    # is reported by the contract check of that partition
    owners = children.select(sf.col(s.CHILD_ID).alias("__owner"), sf.col(PART))
    own = _bucket(sf.concat(sf.lit("child:"), sf.col(s.CHILD_ID)), partitions)
    events = (
        events.join(owners, events[s.CHILD_ID] == owners["__owner"], "left")
        .withColumn(PART, sf.coalesce(sf.col(PART), own))
        .drop("__owner")
    )
    return SparkInput(children, events, exported_at, partitions, root)


def _bucket(key: Any, partitions: int) -> Any:
    return sf.pmod(sf.xxhash64(key, sf.lit(HASH_SEED)), sf.lit(partitions)).cast("int")


def _read_parquet(spark: SparkSession, root: str, name: str) -> DataFrame:
    path = f"{root}/{name}.parquet"
    try:
        frame = spark.read.parquet(path)
    except AnalysisException as exc:
        raise SparkJobError(
            f"{name}: cannot read {path} ({first_line(exc)}); the Spark engine reads the "
            "contract's Parquet files (a CSV folder: use the single-machine engine)"
        ) from exc
    expected = s.TABLE_COLUMNS[name]
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        listed = ", ".join(repr(column) for column in missing)
        raise SparkJobError(f"{name}.parquet: missing column(s) {listed}")
    return frame.select(*expected)


def _exported_at(
    spark: SparkSession, root: str, deployment: Deployment, events: DataFrame
) -> datetime:
    """export.json's instant; without the file, the latest recorded_at (as one machine)."""

    try:
        rows = spark.read.text(f"{root}/{s.EXPORT_FILE}", wholetext=True).collect()
    except AnalysisException:
        rows = []
    if rows:
        try:
            return parse_exported_at(str(rows[0][0]), deployment.zone)
        except ReadError as exc:
            raise SparkJobError(str(exc)) from exc
    kind = events.schema[s.RECORDED_AT].dataType.simpleString()
    if kind != "timestamp_ntz":
        raise SparkJobError(
            f"{s.EXPORT_FILE} is missing and events.recorded_at is {kind}, not a timestamp: "
            f"add {s.EXPORT_FILE} (the contract's export instant) to {root}"
        )
    latest = events.agg(sf.max(s.RECORDED_AT)).collect()[0][0]
    if not isinstance(latest, datetime):
        raise SparkJobError(f"{root}: no events, and no {s.EXPORT_FILE} to say when exported")
    return latest


def _repeated(frame: DataFrame, column: str, name: str, shown: int = 5) -> list[str]:
    """The contract's uniqueness rule over the whole table (a partition sees only its own)."""
    counts = frame.groupBy(column).count().filter(sf.col("count") > 1)
    rows = counts.limit(shown).collect()
    if not rows:
        return []
    total = counts.count()
    values = ", ".join(f"{row[column]!r} ({row['count']} rows)" for row in rows)
    more = f" and {total - len(rows)} more" if total > len(rows) else ""
    return [f"{name}.parquet: {column}.unique: must be unique; repeated: {values}{more}"]


# ---- what runs in each partition ----------------------------------------------------------


@dataclass(frozen=True)
class PartitionJob:
    """What every partition needs, picklable (Spark ships it to the Python workers)."""

    timezone: str
    districts: tuple[tuple[str, str], ...]
    exported_at: datetime
    now: datetime

    @classmethod
    def of(cls, deployment: Deployment, exported_at: datetime) -> PartitionJob:
        now = datetime.now(deployment.zone).replace(tzinfo=None, microsecond=0)
        return cls(deployment.timezone, tuple(deployment.districts.items()), exported_at, now)

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.timezone, MappingProxyType(dict(self.districts)))

    def histories(self, children: pa.Table, events: pa.Table) -> CaseHistories:
        """A partition's rows held to the data contract by the single-machine check."""
        try:
            return check_tables(
                _frame(children),
                _frame(events),
                self.deployment,
                self.exported_at,
                self.now,
                source="a Spark partition (rows numbered within it)",
            )
        except ContractError as exc:
            # Spark logs a failed task's error: rules and counts only, never a value. The
            # driver finds the mark in Spark's error and shows the report alone.
            report = exc.report.format_rules()
            raise RuntimeError(f"{ERROR_MARK}\n{report}\n{ERROR_MARK}") from exc


@dataclass(frozen=True)
class FeatureJob:
    partition: PartitionJob
    config: FeatureConfig
    policy: Policy
    dates: tuple[date, ...]
    arrow_schema: pa.Schema

    def __call__(self, children: pa.Table, events: pa.Table) -> pa.Table:
        histories = self.partition.histories(children, events)
        table = build_features(histories, self.config, self.policy, list(self.dates))
        return to_spark_arrow(table.frame.collect(engine="in-memory"), self.arrow_schema)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.drop(PART, strict=False)


def empty_histories(deployment: Deployment, exported_at: datetime) -> CaseHistories:
    """No children, no events: what fixes a job's output schema before any data moves."""
    children = pl.DataFrame(schema=dict.fromkeys(s.TABLE_COLUMNS[s.CHILDREN], pl.String))
    events = pl.DataFrame(schema=dict.fromkeys(s.TABLE_COLUMNS[s.EVENTS], pl.String))
    now = max(exported_at, datetime.now(deployment.zone).replace(tzinfo=None))
    return check_tables(children, events, deployment, exported_at, now, source="schema")


@dataclass(frozen=True)
class BuiltOnSpark:
    out: str
    rows: int
    children: int
    partitions: int
    labelled: int
    positives: int
    measured: PartitionFigures


def build_features_spark(
    spark: SparkSession,
    data: str,
    out: str,
    config: FeatureConfig,
    policy: Policy,
    as_of: Sequence[date],
    deployment: Deployment,
    partitions: int | None = None,
) -> BuiltOnSpark:
    """The feature table of ``data`` built partition by partition on Spark and written to
    ``out``: the same rows as ``features.table.write_features`` on one machine."""
    refuse_existing(spark, out)
    source = read_input(spark, data, deployment, partitions)
    empty = build_features(empty_histories(deployment, source.exported_at), config, policy, as_of)
    schema = empty.frame.collect_schema()
    struct = spark_schema(schema)
    job = FeatureJob(
        PartitionJob.of(deployment, source.exported_at),
        config,
        policy,
        tuple(as_of),
        arrow_schema_for(struct),
    )
    spark.conf.set("spark.sql.shuffle.partitions", str(source.partitions))
    tally = Tally.on(spark)
    built = run_partitions(source, job, struct, tally)
    metadata = table_metadata(empty, source.source, source.exported_at)
    write_partitioned(spark, built, out, metadata, schema)
    written = spark.read.parquet(out)
    label = empty.label
    counts = written.agg(
        sf.count(sf.lit(1)).alias("rows"),
        sf.countDistinct(s.CHILD_ID).alias("children"),
        sf.count(label).alias("labelled"),
        sf.coalesce(sf.sum(label), sf.lit(0)).alias("positives"),
    ).collect()[0]
    return BuiltOnSpark(
        out,
        int(counts["rows"]),
        int(counts["children"]),
        source.partitions,
        int(counts["labelled"]),
        int(counts["positives"]),
        tally.figures(),
    )
