"""Running a job on Spark and writing what it made: each partition through the polars
code with its own figures (``Tally``), the output written partitioned by as_of with the
sidecar last, nothing already stored replaced, and a partition's error reported as the
one line it raised (features.spark builds features with it, models.spark scores).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl
import pyarrow as pa
from pyspark import Accumulator, AccumulatorParam
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as st

from features.build import AS_OF
from features.table import SIDECAR, empty_table, sidecar_bytes

if TYPE_CHECKING:
    from features.spark import SparkInput

PART: Final = "__part"  # the partition key column: a household's hash bucket
ERROR_MARK: Final = "riskflag-partition-error"


class SparkJobError(RuntimeError):
    """A Spark job that cannot run or failed; ``str()`` is the one line (or report) to show."""


class _Max(AccumulatorParam[float]):
    def zero(self, value: float) -> float:
        return 0.0

    def addInPlace(self, value1: float, value2: float) -> float:  # noqa: N802 (Spark's name)
        return max(value1, value2)


@dataclass(frozen=True)
class Tally:
    """What the partitions measured of themselves, for sizing a cluster (docs/scale.md):
    time inside the polars code, children processed, and the peak memory of a Python
    worker (VmHWM: the most any worker held at once, whatever it ran)."""

    seconds: Accumulator[float]
    children: Accumulator[int]
    partitions: Accumulator[int]
    worker_peak_mb: Accumulator[float]

    @classmethod
    def on(cls, spark: SparkSession) -> Tally:
        context = spark.sparkContext
        return cls(
            context.accumulator(0.0),
            context.accumulator(0),
            context.accumulator(0),
            context.accumulator(0.0, _Max()),
        )

    def record(self, started: float, children: int) -> None:
        self.seconds.add(time.perf_counter() - started)
        self.children.add(children)
        self.partitions.add(1)
        self.worker_peak_mb.add(_high_water_mb())

    def figures(self) -> PartitionFigures:
        return PartitionFigures(
            float(self.seconds.value),
            int(self.children.value),
            int(self.partitions.value),
            float(self.worker_peak_mb.value),
        )


@dataclass(frozen=True)
class PartitionFigures:
    seconds: float  # summed over partitions: task time in the polars code
    children: int
    partitions: int  # partition calls that ran (groups with any rows)
    worker_peak_mb: float

    @property
    def children_per_second(self) -> float:
        """Per partition task (one core): children through the polars code per second."""
        return self.children / self.seconds if self.seconds else 0.0


def _high_water_mb() -> float:
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):  # not Linux: no figure rather than a wrong one
        return 0.0


def run_partitions(
    data: SparkInput,
    job: Callable[[pa.Table, pa.Table], pa.Table],
    schema: st.StructType,
    tally: Tally,
) -> DataFrame:
    """Each partition's children and events, together, through ``job`` (one call each)."""

    def apply(key: tuple[Any, ...], children: pa.Table, events: pa.Table) -> pa.Table:
        started = time.perf_counter()
        out = job(children, events)
        tally.record(started, children.num_rows)
        return out

    children = data.children.groupBy(PART)
    events = data.events.groupBy(PART)
    return children.cogroup(events).applyInArrow(apply, schema)


def refuse_existing(spark: SparkSession, out: str) -> None:
    """Stop before any work when ``out`` exists: a Spark job writes a new folder and
    replaces nothing already stored."""
    path, filesystem = _hadoop_path(spark, out)
    if filesystem.exists(path):
        raise SparkJobError(
            f"{out} already exists: the Spark engine writes a new folder and replaces "
            "nothing (remove it, or choose another --out)"
        )


def _hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    """A path and its file system as Spark's own writer sees them (any URI Spark writes:
    local, HDFS, S3...). Through the JVM gateway: PySpark has no Python API for it."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _write_file(spark: SparkSession, uri: str, payload: bytes) -> None:
    path, filesystem = _hadoop_path(spark, uri)
    stream = filesystem.create(path, False)  # never over an existing file
    try:
        stream.write(bytearray(payload))
    finally:
        stream.close()


def write_partitioned(
    spark: SparkSession, frame: DataFrame, out: str, metadata: dict[str, str], schema: pl.Schema
) -> None:
    """Write ``frame`` partitioned by as_of (refusing an existing ``out``: nothing already
    stored is replaced), then the sidecar with the exact schema and provenance."""
    try:
        frame.write.mode("errorifexists").partitionBy(AS_OF).parquet(out)
    except AnalysisException as exc:
        raise SparkJobError(f"{out}: {first_line(exc)}") from exc
    except Exception as exc:
        raise _job_error(exc) from exc
    _write_file(spark, f"{out.rstrip('/')}/{SIDECAR}", sidecar_bytes(empty_table(schema), metadata))


def _job_error(exc: BaseException) -> SparkJobError:
    """The report a partition raised, without Spark's stack traces; else the first line."""
    text = str(exc)
    found = re.search(f"{ERROR_MARK}\n(.*?)\n{ERROR_MARK}", text, re.DOTALL)
    if found:
        return SparkJobError(found.group(1))
    raised = re.findall(r"^([\w.]+(?:Error|Exception): .+)$", text, re.MULTILINE)
    return SparkJobError(f"the Spark job failed: {raised[-1] if raised else first_line(exc)}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
