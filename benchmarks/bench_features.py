"""Feature building at scale, beside the same window counts written as DuckDB SQL.

    python -m benchmarks.bench_features [--children 100000 300000 1000000] [--shards 1]
        [--range-join auto|always|never] [--also wide long cumulative]

For each size: synthetic children (cached in .bench/), 24 monthly as-of dates; riskflag
builds the whole feature table (every family, labels, cohort) and writes it; DuckDB gets
the cohort's (child, as-of) keys from that table and computes every count feature (85 in
the default configuration). A count in a window of w days at D is the number of events
with recorded_at <= D 00:00 and occurred_at > D - w days ("all": no occurred bound); the
benchmark policy keeps every record (retention 30 years) so that the SQL needs no expiry
logic. Every step runs in a fresh process (wall time, peak RSS from VmHWM), DuckDB with
``SET threads = 2`` (the machine's cores) and its default memory limit; the counts are
checked equal to riskflag's. Prints a table; never passes or fails.

The DuckDB peers (``DuckDB SQL (best)`` is the fastest found; the others are kept so that
they can be measured again with ``--also``):

- best, ``packed``: difference arrays over the grid indices. Each (event, count feature)
  adds +1 at the index of the first as-of date on or after recorded_at and -1 at the
  first on or after occurred_at + w (month arithmetic on the monthly grid); the deltas
  of 10 features are packed into one HUGEINT (12 bits each, exact while no count reaches
  4096: the script refuses a child with 4096 events or more), summed per (child, grid
  index), cumulated by one window per child over the grid (9 running sums, not 85), read
  at each key by an ASOF join and unpacked with shifts and masks.
- ``wide``: the same without packing: PIVOT of the deltas to 85 columns, 85 running sums
  in one window, ASOF read at each key.
- ``long``: the same kept long, as first proposed: a running sum per (child, feature),
  an ASOF read at each (child, as-of, feature), PIVOT to wide columns. It reads keys x 85
  cells, most of them zero (29 million at 20,000 children): slow and large.
- ``cumulative``: cumulative counts per (child, feature) in time order read at the window
  bounds by ASOF joins: events known by D minus events gone by D. Gone means recorded and
  out of the window, greatest(recorded_at, occurred_at + w) <= D: an event recorded after
  it left the window must not be subtracted without having been added. Same keys x 85
  cells as ``long``, two ASOF joins.
- ``range-join`` (weaker: the query an analyst writes first): one GROUP BY over a join of
  the keys with every event recorded by D, a filtered count per feature. On by default up
  to 100,000 children (``--range-join auto|always|never``).

Also tried on ``packed``, none better beyond the noise: 7 x 16 bits (13 sums, ~10 % more
CPU than 10 x 12), deltas by UNNEST instead of UNION ALL, packing in two GROUP BYs, ASOF
on the keys only then a hash join for the sums, unpacking through two BIGINTs, and key
rows put in the window instead of the ASOF join (3x the CPU of that step).

Measured on this machine, seconds / peak MB, each the quietest of 2 to 4 runs: the
machine (2 cores) was shared with other work and one step varied up to 3x between runs.

    children  riskflag     packed     wide          long          cumulative    range-join
      20,000  3.3 / 608    0.9 / 397  2.3 / 1,060   33.3 / 4,974  62.3 / 6,398  11.0 / 707
     100,000  10.0 / 1,261 6.5 / 609  10.4 / 2,365  not run       not run       66.9 / 1,838

``packed`` alone at 100,000 took 3.3 s in a quiet moment. ``long`` and ``cumulative`` grow
with keys x features (about 5x their 20,000 figures) and were not run at 100,000; the
figure first reported for the long formulation, 15.6 s / 5.7 GB at 100,000 children, was
not reproduced with the query here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from benchmarks.measure import BENCH, measure, synthetic_data

AS_OF = (date(2023, 8, 1), date(2025, 7, 1))
POLICY = "[retention]\nunsubstantiated_years = 30\n"
AIM_CHILDREN = 1_000_000
AIM_SPEED = 5.0  # riskflag at least 5x faster than the best DuckDB SQL ...
AIM_MEMORY = 0.25  # ... with at most a quarter of its peak memory
RANGE_JOIN_UP_TO = 100_000
PACK_BITS, PACK_PER = 12, 10  # 10 x 12 bits in a HUGEINT: positive, below 2^127


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
con.execute("SET preserve_insertion_order = false")
con.execute("SET enable_progress_bar = false")
for check in {checks!r}:
    if con.execute(check).fetchall():
        raise SystemExit("refused: " + check)
con.execute({sql!r})
"""


def count_features(features: Path) -> list[dict[str, object]]:
    from features.table import read_metadata

    return [spec for spec in read_metadata(features)["registry"] if spec["kind"] == "count"]


class Query:
    """What every peer reads: events, the (child, as-of) keys, the count features, and
    the monthly grid of as-of dates D_0 .. D_{G-1} (D 00:00 as naive timestamps)."""

    def __init__(self, data: Path, keys: Path, specs: list[dict[str, object]]) -> None:
        self.events = data / "events.parquet"
        self.keys = keys
        self.specs = specs
        self.grid = month_starts(*AS_OF)
        self.names = [str(spec["name"]) for spec in specs]

    def index(self, instant: str) -> str:
        """SQL: index of the first grid date on or after ``instant`` (G when none)."""
        before = f"{instant} - INTERVAL 1 MICROSECOND"
        months = f"datediff('month', TIMESTAMP '{self.grid[0]}', {before})"
        return f"least(greatest({months} + 1, 0), {len(self.grid)})"

    def common(self) -> str:
        """CTEs: the features as rows, each (event, feature) it counts for, the keys."""
        rows = ", ".join(
            f"({f}, '{spec['sources'][0]}', {literal(spec['detail'])}, "  # type: ignore[index]
            f"{'NULL' if spec['window'] == 'all' else spec['window']})"
            for f, spec in enumerate(self.specs)
        )
        return f"""
          specs(f, event_type, detail, days) AS (VALUES {rows}),
          matched AS (
            SELECT e.child_id, s.f, e.recorded_at AS known,
                   e.occurred_at + to_days(s.days) AS leaves
            FROM read_parquet('{self.events}') e JOIN specs s
              ON e.event_type = s.event_type AND (s.detail IS NULL OR e.detail = s.detail)
          ),
          keys AS (
            SELECT child_id, as_of, CAST(as_of AS TIMESTAMP) AS at,
                   datediff('month', DATE '{self.grid[0]}', as_of) AS g
            FROM read_parquet('{self.keys}')
          )"""

    def deltas(self) -> str:
        """CTEs: +1 at the grid index where an event starts counting, -1 where it stops."""
        g = len(self.grid)
        return f"""
          spans AS (
            SELECT child_id, f, {self.index("known")} AS start,
                   CASE WHEN leaves IS NULL THEN {g} ELSE {self.index("leaves")} END AS stop
            FROM matched
          ),
          deltas AS (
            SELECT child_id, f, start AS g, 1 AS d FROM spans WHERE start < stop
            UNION ALL
            SELECT child_id, f, stop, -1 FROM spans WHERE start < stop AND stop < {g}
          )"""

    def copy(self, select: str, out: Path) -> str:
        return f"COPY ({select}) TO '{out}' (FORMAT parquet)"


def literal(value: object) -> str:
    return "NULL" if value is None else f"'{value}'"


def month_starts(start: date, end: date) -> list[date]:
    """The benchmark's as-of grid: every first of the month from start to end."""
    if start.day != 1 or end.day != 1:
        raise ValueError("the SQL's grid arithmetic is monthly: as-of dates on the 1st")
    grid = [start]
    while grid[-1] < end:
        grid.append((grid[-1] + timedelta(days=32)).replace(day=1))
    return grid


def packed_sql(q: Query, out: Path) -> str:
    """Difference arrays, PACK_PER features to a HUGEINT, one window per child."""
    groups = range(-(-len(q.specs) // PACK_PER))
    shift = f"d * (CAST(1 AS HUGEINT) << ({PACK_BITS} * (f % {PACK_PER})))"
    sums = ", ".join(f"sum({shift}) FILTER (WHERE f // {PACK_PER} = {j}) AS p{j}" for j in groups)
    running = ", ".join(f"sum(p{j}) OVER w AS p{j}" for j in groups)
    mask = 2**PACK_BITS - 1
    values = ", ".join(
        f"CAST((coalesce(r.p{f // PACK_PER}, 0) >> {PACK_BITS * (f % PACK_PER)}) & {mask} "
        f'AS INTEGER) AS "{name}"'
        for f, name in enumerate(q.names)
    )
    return q.copy(
        f"""
        WITH {q.common()}, {q.deltas()},
          packed AS (SELECT child_id, g, {sums} FROM deltas GROUP BY child_id, g),
          running AS (
            SELECT child_id, g, {running} FROM packed
            WINDOW w AS (PARTITION BY child_id ORDER BY g)
          )
        SELECT k.child_id, k.as_of, {values}
        FROM keys k ASOF LEFT JOIN running r ON k.child_id = r.child_id AND k.g >= r.g""",
        out,
    )


def packed_checks(q: Query) -> list[str]:
    """A count is at most its child's number of events: refuse what could overflow a field."""
    return [
        f"SELECT child_id FROM read_parquet('{q.events}') GROUP BY child_id "
        f"HAVING count(*) >= {2**PACK_BITS} LIMIT 1"
    ]


def wide_sql(q: Query, out: Path) -> str:
    """Difference arrays pivoted to one column per feature, one window per child."""
    features = ", ".join(str(f) for f in range(len(q.specs)))
    running = ", ".join(f'sum("{f}") OVER w AS "{f}"' for f in range(len(q.specs)))
    values = ", ".join(f'coalesce(r."{f}", 0) AS "{name}"' for f, name in enumerate(q.names))
    return q.copy(
        f"""
        WITH {q.common()}, {q.deltas()},
          wide AS (PIVOT deltas ON f IN ({features}) USING sum(d) GROUP BY child_id, g),
          running AS (
            SELECT child_id, g, {running} FROM wide
            WINDOW w AS (PARTITION BY child_id ORDER BY g)
          )
        SELECT k.child_id, k.as_of, {values}
        FROM keys k ASOF LEFT JOIN running r ON k.child_id = r.child_id AND k.g >= r.g""",
        out,
    )


def long_sql(q: Query, out: Path) -> str:
    """Difference arrays kept long: a running sum per (child, feature), read at every
    (child, as-of, feature) by an ASOF join, pivoted to wide columns."""
    return q.copy(
        f"""
        WITH {q.common()}, {q.deltas()},
          running AS (
            SELECT child_id, f, g, sum(sum(d)) OVER (PARTITION BY child_id, f ORDER BY g) AS n
            FROM deltas GROUP BY child_id, f, g
          ),
          long AS (
            SELECT kf.child_id, kf.as_of, kf.f, coalesce(r.n, 0) AS n
            FROM (SELECT keys.*, specs.f FROM keys CROSS JOIN specs) kf
            ASOF LEFT JOIN running r ON kf.child_id = r.child_id AND kf.f = r.f AND kf.g >= r.g
          )
        SELECT child_id, as_of, {pivoted(q.names)}
        FROM (PIVOT long ON f IN ({", ".join(map(str, range(len(q.names))))})
              USING first(n) GROUP BY child_id, as_of)""",
        out,
    )


def pivoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{f}" AS "{name}"' for f, name in enumerate(names))


def cumulative_sql(q: Query, out: Path) -> str:
    """Cumulative counts per (child, feature) in time order, read at both window bounds."""
    return q.copy(
        f"""
        WITH {q.common()},
          known_by AS (
            SELECT child_id, f, known AS t,
                   count(*) OVER (PARTITION BY child_id, f ORDER BY known) AS n
            FROM matched
          ),
          gone_by AS (
            SELECT child_id, f, greatest(known, leaves) AS t,
                   count(*) OVER (PARTITION BY child_id, f ORDER BY greatest(known, leaves)) AS n
            FROM matched WHERE leaves IS NOT NULL
          ),
          long AS (
            SELECT kf.child_id, kf.as_of, kf.f, coalesce(a.n, 0) - coalesce(b.n, 0) AS n
            FROM (SELECT keys.*, specs.f FROM keys CROSS JOIN specs) kf
            ASOF LEFT JOIN known_by a ON kf.child_id = a.child_id AND kf.f = a.f AND kf.at >= a.t
            ASOF LEFT JOIN gone_by b ON kf.child_id = b.child_id AND kf.f = b.f AND kf.at >= b.t
          )
        SELECT child_id, as_of, {pivoted(q.names)}
        FROM (PIVOT long ON f IN ({", ".join(map(str, range(len(q.names))))})
              USING first(n) GROUP BY child_id, as_of)""",
        out,
    )


def range_join_sql(q: Query, out: Path) -> str:
    """The analyst's first query: every event recorded by D joined to each key."""
    clauses = []
    for spec in q.specs:
        conditions = [f"e.event_type = '{spec['sources'][0]}'"]  # type: ignore[index]
        if spec["detail"]:
            conditions.append(f"e.detail = '{spec['detail']}'")
        if spec["window"] != "all":
            conditions.append(f"e.occurred_at > k.as_of - INTERVAL {spec['window']} DAY")
        clauses.append(
            f'count(e.event_id) FILTER (WHERE {" AND ".join(conditions)}) AS "{spec["name"]}"'
        )
    return q.copy(
        f"""
          SELECT k.child_id, k.as_of, {", ".join(clauses)}
          FROM read_parquet('{q.keys}') k
          LEFT JOIN read_parquet('{q.events}') e
            ON e.child_id = k.child_id AND e.recorded_at <= CAST(k.as_of AS TIMESTAMP)
          GROUP BY k.child_id, k.as_of""",
        out,
    )


PEERS: dict[str, tuple[str, Callable[[Query, Path], str]]] = {
    "packed": ("DuckDB SQL (best): packed difference arrays", packed_sql),
    "wide": ("DuckDB SQL: difference arrays, 85 columns", wide_sql),
    "long": ("DuckDB SQL: difference arrays, long + PIVOT", long_sql),
    "cumulative": ("DuckDB SQL: cumulative counts, ASOF bounds", cumulative_sql),
    "range-join": ("DuckDB SQL: range join + GROUP BY", range_join_sql),
}
BEST = "packed"
CHECKS: dict[str, Callable[[Query], list[str]]] = {"packed": packed_checks}


def agree(ours: Path, peer: Path, names: list[str]) -> bool:
    """Same keys, and every count equal (a missing value is a difference)."""
    a = pl.scan_parquet(ours).select("child_id", "as_of", *names)
    b = pl.scan_parquet(peer).select("child_id", "as_of", *names)
    joined = a.join(b, on=["child_id", "as_of"], how="full", suffix="_peer").collect()
    if joined.height != pl.scan_parquet(ours).select(pl.len()).collect().item():
        return False
    return all(
        (joined[n].cast(pl.Int64) == joined[f"{n}_peer"].cast(pl.Int64)).fill_null(False).all()
        for n in names
    )


@dataclass(frozen=True)
class Row:
    """One builder's measurement at one size."""

    children: int
    peer: str  # "riskflag" or a key of PEERS
    builder: str
    rows: int
    columns: int  # columns computed
    events: int  # events in the input
    seconds: float
    mb: float
    equal: bool | None  # the counts equal riskflag's (None: riskflag itself)


def no_checks(_: Query) -> list[str]:
    return []


def run_peer(peer: str, q: Query, ours: Row) -> Row:
    out = BENCH / f"duckdb-{peer}-{ours.children}.parquet"
    label, sql = PEERS[peer]
    checks = CHECKS.get(peer, no_checks)(q)
    seconds, rss, _ = measure(DUCKDB.format(sql=sql(q, out), checks=checks))
    equal = agree(BENCH / f"features-{ours.children}.parquet", out, q.names)
    out.unlink()
    return replace(ours, peer=peer, builder=label, columns=len(q.names), seconds=seconds,
                   mb=rss, equal=equal)  # fmt: skip


def run(children: int, shards: int, peers: list[str]) -> list[Row]:
    data = synthetic_data(children)
    policy = BENCH / "bench-policy.toml"
    policy.write_text(POLICY)
    features = BENCH / f"features-{children}.parquet"
    seconds, rss, printed = measure(
        RISKFLAG.format(data=str(data), start=AS_OF[0].isoformat(), end=AS_OF[1].isoformat(),
                        policy=str(policy), out=str(features), shards=shards)
    )  # fmt: skip
    rows, columns = map(int, printed.split())
    keys = BENCH / f"keys-{children}.parquet"
    pl.scan_parquet(features).select("child_id", "as_of").sink_parquet(keys)
    q = Query(data, keys, count_features(features))
    events = pl.scan_parquet(q.events).select(pl.len()).collect().item()
    ours = Row(children, "riskflag", f"riskflag ({columns} columns, shards={shards or 'auto'})",
               rows, columns, events, seconds, rss, None)  # fmt: skip
    table = [ours]
    for peer in peers:
        table.append(run_peer(peer, q, ours))
        print(json.dumps({"done": children, "peer": peer}), flush=True)
    return table


def peers_for(children: int, args: argparse.Namespace) -> list[str]:
    chosen = [BEST, *(p for p in args.also if p != BEST)]
    wanted = {"always": True, "never": False, "auto": children <= RANGE_JOIN_UP_TO}
    if wanted[args.range_join] and "range-join" not in chosen:
        chosen.append("range-join")
    return chosen


def print_table(table: list[Row]) -> None:
    print(f"\nFeature tables: {AS_OF[0]} .. {AS_OF[1]}, 24 monthly as-of dates")
    print(
        f"{'children':>9} {'builder':<46} {'rows':>11} {'seconds':>8} {'peak MB':>8} "
        f"{'cells/s':>12} {'events/s':>11} {'counts equal':>12}"
    )
    for r in table:
        equal = "-" if r.equal is None else str(r.equal)
        print(
            f"{r.children:>9,} {r.builder:<46} {r.rows:>11,} {r.seconds:>8.1f} {r.mb:>8,.0f} "
            f"{r.rows * r.columns / r.seconds:>12,.0f} {r.events / r.seconds:>11,.0f} "
            f"{equal:>12}"
        )
    print(
        "cells/s: rows x columns computed / seconds (riskflag: every column of its table; "
        "DuckDB: the count columns); events/s: events in the input / seconds"
    )


def print_aims(table: list[Row]) -> None:
    for n in sorted({r.children for r in table}):
        ours = next(r for r in table if r.children == n and r.peer == "riskflag")
        best = next(r for r in table if r.children == n and r.peer == BEST)
        speed, memory = best.seconds / ours.seconds, ours.mb / best.mb
        where = "" if n == AIM_CHILDREN else f" (the aims are set at {AIM_CHILDREN:,})"
        print(
            f"{n:>9,} children: DuckDB best / riskflag time {speed:.2f} "
            f"(aim >= {AIM_SPEED:g}: {'met' if speed >= AIM_SPEED else 'not met'}); "
            f"riskflag / DuckDB best peak memory {memory:.2f} "
            f"(aim <= {AIM_MEMORY:g}: {'met' if memory <= AIM_MEMORY else 'not met'}){where}"
        )
    print("(riskflag also computes statuses, recency, severities, amounts, labels, cohort)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--shards", type=int, default=0, help="0: riskflag's automatic choice")
    parser.add_argument(
        "--range-join", choices=["auto", "always", "never"], default="auto",
        help=f"the range-join peer (auto: up to {RANGE_JOIN_UP_TO:,} children)",
    )  # fmt: skip
    parser.add_argument(
        "--also", nargs="*", default=[], choices=[p for p in PEERS if p != "range-join"],
        help="other DuckDB formulations to measure beside the best",
    )  # fmt: skip
    args = parser.parse_args()
    table: list[Row] = []
    for n in args.children:
        table += run(n, args.shards, peers_for(n, args))
        print(json.dumps({"done": n}), flush=True)
    print_table(table)
    print_aims(table)


if __name__ == "__main__":
    main()
