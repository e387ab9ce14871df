"""Feature building and batch scoring on Spark local[2] beside the single-machine builds.

    python -m benchmarks.bench_spark [--children 100000 1000000] [--dates 24]
                                     [--only features|scores]

For each size: synthetic children (cached in .bench/), monthly as-of dates from
2023-08-01; the single-machine build (`riskflag features build`, shards by size) and the
Spark build (`--engine spark`, local[2], one partition per 50,000 children) each run in a
fresh process tree: wall time including start-up (Spark's JVM too), and peak resident
memory summed over the tree (the JVM, the Python workers), sampled every 0.2 s. The
tables are checked equal row for row (a hash of every row, joined on child and date).
The Spark run also reports what its partitions measured of themselves (time in the polars
code, children, a Python worker's peak memory): the figures docs/scale.md works from.

Scoring (the nightly batch): every eligible child on the export date with a scorecard
trained on 20,000 other synthetic children (registered in .bench/), with its top five
factors and the records behind each; `riskflag score` on one machine beside
`riskflag score --engine spark`, measured the same way, the score tables checked equal.
Prints tables; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import date
from typing import Any

import polars as pl

from benchmarks.measure import BENCH, measure_tree, synthetic_data

FIRST = date(2023, 8, 1)

POLARS = """
from datetime import date
from typing import Any
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
from typing import Any
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


SCORE = """
import json, sys
from typer.testing import CliRunner
from serving.cli import app
done = CliRunner().invoke(app, {args!r})
if done.exit_code:
    sys.exit(done.output)
print(done.stdout.strip().splitlines()[-1])
"""

SCORE_SPARK = """
import json
from datetime import date
from typing import Any
from features.deployment import Deployment
from features.spark import session
from models.flagging import load_flagging_policy
from models.registry import use_tracking, version_payload
from models.spark import score_spark
use_tracking({tracking!r})
payload, sha256 = version_payload("champion")
spark = session("local[2]", app="bench-spark")
scored = score_spark(spark, {data!r}, {out!r}, payload, sha256, load_flagging_policy(),
                     date.fromisoformat({as_of!r}), Deployment())
m = scored.measured
print(json.dumps({{"rows": scored.children, "partitions": scored.partitions,
                  "task_seconds": m.seconds, "children": m.children,
                  "worker_peak_mb": m.worker_peak_mb, "model_loads": scored.model_loads}}))
spark.stop()
"""

TRAINING = """
[dates]
train_dates = 6
calibration_dates = 2
test_dates = 2
[sampling]
max_train_rows = 20000
"""


def champion() -> str:
    """A scorecard trained on 20,000 other synthetic children, promoted (once, cached)."""
    from typer.testing import CliRunner

    from serving.cli import app

    uri = f"sqlite:///{BENCH / 'spark-bench-mlflow.db'}"
    marker = BENCH / "spark-bench-champion"
    if marker.exists():
        return uri
    training = BENCH / "spark-bench-training.toml"
    training.write_text(TRAINING, encoding="utf-8")
    runner = CliRunner()
    data = synthetic_data(20_000)
    done = runner.invoke(
        app, ["train", "--data", str(data), "--training", str(training), "--tracking-uri", uri]
    )
    if done.exit_code:
        raise SystemExit(done.output)
    version = json.loads(done.stdout.strip().splitlines()[-1])["version"]
    promoted = runner.invoke(
        app, ["promote", str(version), "--tracking-uri", uri, "--force", "--reason", "benchmark"]
    )
    if promoted.exit_code:
        raise SystemExit(promoted.output)
    marker.write_text(str(version))
    return uri


def run_scores(children: int, driver_memory: str) -> dict[str, object]:
    from features.contract.files import read_exported_at
    from features.deployment import Deployment
    from features.table import read_table

    tracking = champion()
    data = synthetic_data(children)
    exported = read_exported_at(data, Deployment().zone)
    assert exported is not None
    as_of = exported.date().isoformat()
    one = BENCH / f"spark-bench-scores-{children}.parquet"
    spark_out = BENCH / f"spark-bench-scores-{children}"
    one.unlink(missing_ok=True)
    shutil.rmtree(spark_out, ignore_errors=True)
    args = [
        *("score", "--data", str(data), "--as-of", as_of, "--out", str(one)),
        *("--tracking-uri", tracking),
    ]
    seconds, peak, _ = measure_tree(SCORE.format(args=args))
    env = {"PYSPARK_SUBMIT_ARGS": f"--driver-memory {driver_memory} pyspark-shell"}
    spark_seconds, spark_peak, printed = measure_tree(
        SCORE_SPARK.format(tracking=tracking, data=str(data), out=str(spark_out), as_of=as_of),
        env,
    )
    figures = json.loads(printed.splitlines()[-1])
    expected = pl.read_parquet(one).sort("child_id")
    got = read_table(spark_out).collect().sort("child_id")
    return {
        "children": children,
        "scored": expected.height,
        "polars_seconds": seconds,
        "polars_peak_mb": peak,
        "spark_seconds": spark_seconds,
        "spark_peak_mb": spark_peak,
        "equal": got.equals(expected),
        **figures,
    }


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
    parser.add_argument("--only", choices=["features", "scores"], default=None)
    args = parser.parse_args()
    if args.only != "scores":
        features = []
        for n in args.children:
            features.append(run(n, args.dates, args.driver_memory))
            print(json.dumps(features[-1]), flush=True)
        print(f"\nFeature tables, {args.dates} monthly as-of dates from {FIRST}; 2 cores")
        _table(features, "rows")
    if args.only != "features":
        scores = []
        for n in args.children:
            scores.append(run_scores(n, args.driver_memory))
            print(json.dumps(scores[-1]), flush=True)
        print("\nBatch scoring on the export date (top 5 factors and their records); 2 cores")
        _table(scores, "scored")


def _table(results: list[dict[str, Any]], rows: str) -> None:
    print(
        f"{'children':>9} {'engine':<34} {rows:>11} {'seconds':>8} {'peak MB':>8} "
        f"{'rows/s':>9} {'equal':>6}"
    )
    for r in results:
        one = "polars, one machine" + (f" ({r['shards']} shards)" if "shards" in r else "")
        print(
            f"{r['children']:>9,} {one:<34} {r[rows]:>11,} {r['polars_seconds']:>8.1f} "
            f"{r['polars_peak_mb']:>8,.0f} {r[rows] / r['polars_seconds']:>9,.0f} "
            f"{r['equal']!s:>6}"
        )
        label = f"Spark local[2] ({r['partitions']} partitions)"
        print(
            f"{'':>9} {label:<34} {r[rows]:>11,} {r['spark_seconds']:>8.1f} "
            f"{r['spark_peak_mb']:>8,.0f} {r[rows] / r['spark_seconds']:>9,.0f} "
            f"{r['equal']!s:>6}"
        )
    print("  per partition (what the partitions measured of themselves):")
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
