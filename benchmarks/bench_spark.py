"""Feature building on Spark local[2] beside the single-machine polars build.

    python -m benchmarks.bench_spark [--children 100000 1000000] [--dates 24]

For each size: synthetic children (cached in .bench/), monthly as-of dates from
2023-08-01; the single-machine build (`riskflag features build`, shards by size) and the
Spark build (`--engine spark`, local[2], one partition per 50,000 children) each run in a
fresh process tree: wall time including start-up (Spark's JVM too), and peak resident
memory summed over the tree (the JVM, the Python workers), sampled every 0.2 s. The
tables are checked equal row for row (a hash of every row, joined on child and date).
The Spark run also reports what its partitions measured of themselves (time in the polars
code, children, a Python worker's peak memory): the figures docs/scale.md works from.
Prints a table; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import date

import polars as pl

from benchmarks.measure import BENCH, measure_tree, synthetic_data

FIRST = date(2023, 8, 1)

POLARS = """
from datetime import date
from pathlib import Path
from features.build import month_grid
from features.config import load_feature_config, load_policy
from features.contract import load_case_histories
from features.table import write_features
dates = month_grid(date.fromisoformat({first!r}), date.fromisoformat({last!r}))
histories = load_case_histories(Path({data!r}))
written = write_features(histories, load_feature_config(), load_policy(), dates, Path({out!r}))
print(written.rows, written.shards)
"""

SPARK = """
import json
from datetime import date
from features.build import month_grid
from features.config import load_feature_config, load_policy
from features.deployment import Deployment
from features.spark import build_features_spark, session
dates = month_grid(date.fromisoformat({first!r}), date.fromisoformat({last!r}))
spark = session("local[2]", app="bench-spark")
built = build_features_spark(spark, {data!r}, {out!r}, load_feature_config(), load_policy(),
                             dates, Deployment())
m = built.measured
print(json.dumps({{"rows": built.rows, "partitions": built.partitions,
                  "task_seconds": m.seconds, "children": m.children,
                  "worker_peak_mb": m.worker_peak_mb}}))
spark.stop()
"""


def _row_hashes(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.select("child_id", "as_of", pl.struct(pl.all()).hash(seed=7).alias("h"))


def agree(one: pl.LazyFrame, other: pl.LazyFrame) -> bool:
    joined = _row_hashes(one).join(
        _row_hashes(other), on=["child_id", "as_of"], how="full", suffix="_spark"
    )
    counts = joined.select(
        pl.len().alias("rows"),
        (pl.col("h") == pl.col("h_spark")).fill_null(False).sum().alias("same"),
    ).collect()
    return bool(counts["rows"][0] == counts["same"][0])


def run(children: int, dates: int, driver_memory: str) -> dict[str, object]:
    from features.table import read_table

    data = synthetic_data(children)
    last = pl.date_range(FIRST, FIRST.replace(year=FIRST.year + 3), "1mo", eager=True)[dates - 1]
    one = BENCH / f"spark-bench-polars-{children}.parquet"
    spark_out = BENCH / f"spark-bench-spark-{children}"
    one.unlink(missing_ok=True)
    shutil.rmtree(spark_out, ignore_errors=True)
    args = {"first": FIRST.isoformat(), "last": last.isoformat(), "data": str(data)}
    seconds, peak, printed = measure_tree(POLARS.format(**args, out=str(one)))
    rows, shards = map(int, printed.split()[-2:])
    env = {"PYSPARK_SUBMIT_ARGS": f"--driver-memory {driver_memory} pyspark-shell"}
    spark_seconds, spark_peak, spark_printed = measure_tree(
        SPARK.format(**args, out=str(spark_out)), env
    )
    figures = json.loads(spark_printed.splitlines()[-1])
    equal = agree(pl.scan_parquet(one), read_table(spark_out))
    return {
        "children": children,
        "rows": rows,
        "shards": shards,
        "polars_seconds": seconds,
        "polars_peak_mb": peak,
        "spark_seconds": spark_seconds,
        "spark_peak_mb": spark_peak,
        "equal": equal and figures["rows"] == rows,
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dates", type=int, default=24, help="monthly as-of dates")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver (local: the JVM)")
    args = parser.parse_args()
    results = []
    for n in args.children:
        results.append(run(n, args.dates, args.driver_memory))
        print(json.dumps(results[-1]), flush=True)
    print(f"\nFeature tables, {args.dates} monthly as-of dates from {FIRST}; 2 cores")
    print(
        f"{'children':>9} {'engine':<34} {'rows':>11} {'seconds':>8} {'peak MB':>8} "
        f"{'rows/s':>9} {'equal':>6}"
    )
    for r in results:
        print(
            f"{r['children']:>9,} {'polars, one machine (' + str(r['shards']) + ' shards)':<34} "
            f"{r['rows']:>11,} {r['polars_seconds']:>8.1f} {r['polars_peak_mb']:>8,.0f} "
            f"{r['rows'] / r['polars_seconds']:>9,.0f} {r['equal']!s:>6}"
        )
        label = f"Spark local[2] ({r['partitions']} partitions)"
        print(
            f"{'':>9} {label:<34} {r['rows']:>11,} {r['spark_seconds']:>8.1f} "
            f"{r['spark_peak_mb']:>8,.0f} {r['rows'] / r['spark_seconds']:>9,.0f} "
            f"{r['equal']!s:>6}"
        )
    print("\nPer partition (what the partitions measured of themselves):")
    print(
        f"{'children':>9} {'partitions':>10} {'task s':>8} {'children/task-s':>16} "
        f"{'worker peak MB':>15} {'Spark/polars time':>18}"
    )
    for r in results:
        rate = r["children"] / r["task_seconds"] if r["task_seconds"] else 0.0
        print(
            f"{r['children']:>9,} {r['partitions']:>10} {r['task_seconds']:>8.1f} {rate:>16,.0f} "
            f"{r['worker_peak_mb']:>15,.0f} {r['spark_seconds'] / r['polars_seconds']:>18.2f}"
        )


if __name__ == "__main__":
    main()
