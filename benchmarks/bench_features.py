"""Feature building at scale, beside the same window counts written as DuckDB SQL.

    python -m benchmarks.bench_features [--children 100000 300000 1000000] [--shards 1]

For each size: synthetic children (cached in .bench/), 24 monthly as-of dates; riskflag
builds the whole feature table (every family, labels, cohort) and writes it; DuckDB gets
the cohort's (child, as-of) keys from that table and computes every count feature with
one GROUP BY over a range join, the query an analyst would otherwise write. Both run in
fresh processes (wall time, peak RSS from VmHWM); the counts are checked equal. The
benchmark policy keeps every record (retention 30 years) so that the SQL needs no expiry
logic. Prints a table; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import polars as pl

from benchmarks.measure import BENCH, measure, synthetic_data

AS_OF = (date(2023, 8, 1), date(2025, 7, 1))
POLICY = "[retention]\nunsubstantiated_years = 30\n"


RISKFLAG = """
from datetime import date
from pathlib import Path
from features.build import month_grid
from features.config import load_feature_config, load_policy
from features.contract import load_case_histories
from features.table import write_features
histories = load_case_histories(Path({data!r}))
dates = month_grid(date.fromisoformat({start!r}), date.fromisoformat({end!r}))
written = write_features(histories, load_feature_config(), load_policy(Path({policy!r})),
                         dates, Path({out!r}), shards={shards} or None)
print(written.rows, written.columns)
"""

DUCKDB = """
import duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute({sql!r})
"""


def count_features(features: Path) -> list[dict[str, object]]:
    from features.table import read_metadata

    return [spec for spec in read_metadata(features)["registry"] if spec["kind"] == "count"]


def duckdb_sql(data: Path, keys: Path, out: Path, specs: list[dict[str, object]]) -> str:
    clauses = []
    for spec in specs:
        conditions = [f"e.event_type = '{spec['sources'][0]}'"]  # type: ignore[index]
        if spec["detail"]:
            conditions.append(f"e.detail = '{spec['detail']}'")
        if spec["window"] != "all":
            conditions.append(f"e.occurred_at > k.as_of - INTERVAL {spec['window']} DAY")
        clauses.append(
            f'count(e.event_id) FILTER (WHERE {" AND ".join(conditions)}) AS "{spec["name"]}"'
        )
    return f"""
        COPY (
          SELECT k.child_id, k.as_of, {", ".join(clauses)}
          FROM read_parquet('{keys}') k
          LEFT JOIN read_parquet('{data / "events.parquet"}') e
            ON e.child_id = k.child_id AND e.recorded_at <= CAST(k.as_of AS TIMESTAMP)
          GROUP BY k.child_id, k.as_of
        ) TO '{out}' (FORMAT parquet)
    """


def agree(ours: Path, peer: Path, names: list[str]) -> bool:
    a = pl.scan_parquet(ours).select("child_id", "as_of", *names)
    b = pl.scan_parquet(peer).select("child_id", "as_of", *names)
    joined = a.join(b, on=["child_id", "as_of"], how="full", suffix="_peer").collect()
    if joined.height != pl.scan_parquet(ours).select(pl.len()).collect().item():
        return False
    return all((joined[n].cast(pl.Int64) == joined[f"{n}_peer"]).all() for n in names)


def run(children: int, shards: int) -> list[tuple[object, ...]]:
    data = synthetic_data(children)
    policy = BENCH / "bench-policy.toml"
    policy.write_text(POLICY)
    ours = BENCH / f"features-{children}.parquet"
    seconds, rss, printed = measure(
        RISKFLAG.format(data=str(data), start=AS_OF[0].isoformat(), end=AS_OF[1].isoformat(),
                        policy=str(policy), out=str(ours), shards=shards)
    )  # fmt: skip
    rows, columns = map(int, printed.split())
    keys = BENCH / f"keys-{children}.parquet"
    pl.scan_parquet(ours).select("child_id", "as_of").sink_parquet(keys)
    specs = count_features(ours)
    peer = BENCH / f"duckdb-{children}.parquet"
    peer_seconds, peer_rss, _ = measure(DUCKDB.format(sql=duckdb_sql(data, keys, peer, specs)))
    equal = agree(ours, peer, [str(spec["name"]) for spec in specs])
    return [
        (
            children,
            f"riskflag ({columns} columns, shards={shards or 'auto'})",
            rows,
            seconds,
            rss,
            equal,
        ),
        (children, f"DuckDB SQL ({len(specs)} count columns)", rows, peer_seconds, peer_rss, equal),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--shards", type=int, default=0, help="0: riskflag's automatic choice")
    args = parser.parse_args()
    table = []
    for n in args.children:
        table += run(n, args.shards)
        print(json.dumps({"done": n}), flush=True)
    print(f"\nFeature tables: {AS_OF[0]} .. {AS_OF[1]}, 24 monthly as-of dates")
    print(
        f"{'children':>9} {'builder':<42} {'rows':>11} {'seconds':>8} {'peak MB':>8} "
        f"{'rows/s':>10} {'counts equal':>12}"
    )
    for n, name, rows, seconds, rss, equal in table:
        print(
            f"{n:>9,} {name:<42} {rows:>11,} {seconds:>8.1f} {rss:>8,.0f} "
            f"{rows / seconds:>10,.0f} {equal!s:>12}"
        )
    for n in args.children:
        ours, peer = (row for row in table if row[0] == n)
        print(
            f"{n:>9,} children: DuckDB / riskflag time ratio {peer[3] / ours[3]:.2f} "
            "(riskflag also computes statuses, recency, severities, amounts, labels, cohort)"
        )


if __name__ == "__main__":
    main()
