"""Where Splink runs: DuckDB on one machine, or Spark (``--engine spark``).

Only the pairwise scoring moves: standardising, clustering and writing stay in polars on
this machine, and the same records table goes to either engine, so both score the same
pairs with the same SQL (features/linkage/model.py uses only functions both have).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import duckdb
import polars as pl
from splink import DuckDBAPI


class LinkEngine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


Register = Callable[[pl.DataFrame], Any]


@contextmanager
def splink_tables(
    engine: LinkEngine, spark: Any = None, memory_gb: float = 4.0
) -> Iterator[Register]:
    """A function registering a polars frame as a Splink table on the engine.

    Parameters
    ----------
    engine
        DuckDB (in memory, this process) or Spark.
    spark
        The Spark session to use; None starts ``features.spark.session()`` (the one
        configured, or local) and stops it at the end.
    memory_gb
        DuckDB's memory limit: past it, DuckDB spills to a folder of this run's own
        (DuckDB's default, 80% of the machine, leaves nothing for the rest of the run).
    """
    if engine is LinkEngine.duckdb:
        spill = tempfile.mkdtemp(prefix="riskflag-link-")
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": f"{memory_gb:g}GB",
            "temp_directory": spill,
        }
        connection = duckdb.connect(config=config)
        connection.execute("SET enable_progress_bar = false")  # a session setting
        duck = DuckDBAPI(connection)
        try:
            yield lambda frame: duck.register(frame.to_arrow())
        finally:
            duck.duckdb_con.close()
            shutil.rmtree(spill, ignore_errors=True)
        return
    # pyspark is optional (the spark extra): imported only when asked for
    from splink import SparkAPI

    from features.spark import session

    started = spark is None
    active = session() if started else spark
    # Splink breaks Spark's lineage with checkpoints: into a folder of this run's own
    # (mkdtemp: owner-only), removed at the end, since it holds the records' columns
    checkpoints = tempfile.mkdtemp(prefix="riskflag-link-")
    active.sparkContext.setCheckpointDir(checkpoints)
    api = SparkAPI(spark_session=active, register_udfs_automatically=False)  # type: ignore[no-untyped-call]
    try:
        yield lambda frame: api.register(frame.to_arrow())
    finally:
        if started:
            active.stop()
        shutil.rmtree(checkpoints, ignore_errors=True)
