"""Validate 10 million events: riskflag's validator beside the same checks in DuckDB SQL.

    python -m benchmarks.bench_contract [--events 10000000] [--children 1000000]

Writes a data folder (parquet and CSV) of random, contract-valid rows into .bench/, with a
few hundred violations of each kind injected, then runs each validator in a fresh process
(wall time and peak RSS) and checks that both count the same violations per rule.
Prints a table; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.measure import ROOT, measure
from features import schema as s
from features.deployment import BEIJING_DISTRICTS

INJECTED = 300  # rows of each injected violation
START = np.datetime64("2019-01-01T00:00:00", "s")
SPAN_S = int((np.datetime64("2025-06-01", "s") - START).astype(np.int64))


def make_children(n: int, rng: np.random.Generator) -> pl.DataFrame:
    districts = list(BEIJING_DISTRICTS)
    birth = np.datetime64("2008-01-01") + rng.integers(0, 17 * 365, n).astype("timedelta64[D]")
    return pl.DataFrame(
        {
            s.CHILD_ID: pl.int_range(n, eager=True).cast(pl.String).str.zfill(8),
            s.BIRTH_DATE: birth,
            s.SEX: rng.choice(s.SEX_VALUES, n),
            s.DISTRICT: rng.choice(districts, n),
            s.HUKOU: rng.choice(s.HUKOU_VALUES, n),
            s.ETHNICITY: rng.choice(s.ETHNICITY_VALUES, n),
            s.HOUSEHOLD_ID: (pl.Series(rng.integers(0, n // 2 + 1, n)).cast(pl.String)),
        }
    ).with_columns(pl.lit("C").add(pl.col(s.CHILD_ID)).alias(s.CHILD_ID))


def make_events(n: int, children: int, rng: np.random.Generator) -> pl.DataFrame:
    kinds = list(s.CATALOGUE.values())
    kind = rng.integers(0, len(kinds), n)
    lo = np.array([k.severity[0] if k.severity else -1 for k in kinds])[kind]
    hi = np.array([k.severity[1] if k.severity else -1 for k in kinds])[kind]
    severity = np.where(lo >= 0, lo + (rng.random(n) * (hi - lo + 1)).astype(int), -1)
    uses_amount = np.array([k.uses_amount for k in kinds])[kind]
    codes = [k.details or ("",) for k in kinds]
    pick = (rng.random(n) * np.array([len(c) for c in codes])[kind]).astype(int)
    detail = np.array([code for c in codes for code in c])[
        np.cumsum([0] + [len(c) for c in codes])[:-1][kind] + pick
    ]
    occurred = START + rng.integers(0, SPAN_S, n).astype("timedelta64[s]")
    recorded = occurred + rng.exponential(86_400 * 5, n).astype("timedelta64[s]")
    return pl.DataFrame(
        {
            s.EVENT_ID: pl.int_range(n, eager=True).cast(pl.String),
            s.CHILD_ID: pl.Series(rng.integers(0, children, n)).cast(pl.String).str.zfill(8),
            s.EVENT_TYPE: np.array(s.EVENT_TYPES)[kind],
            s.OCCURRED_AT: occurred.astype("datetime64[us]"),
            s.RECORDED_AT: recorded.astype("datetime64[us]"),
            s.SEVERITY: pl.Series(severity).replace(-1, None).cast(pl.Int8),
            s.AMOUNT: np.where(uses_amount, np.round(rng.exponential(500, n), 1), np.nan),
            s.DETAIL: pl.Series(detail).replace("", None),
        }
    ).with_columns(
        pl.lit("E").add(pl.col(s.EVENT_ID)).alias(s.EVENT_ID),
        pl.lit("C").add(pl.col(s.CHILD_ID)).alias(s.CHILD_ID),
        pl.col(s.AMOUNT).fill_nan(None),
    )


def inject(events: pl.DataFrame) -> pl.DataFrame:
    """Break INJECTED rows for each of a few rules, in disjoint row ranges."""
    k = INJECTED
    row = pl.int_range(pl.len())
    kind = pl.col(s.EVENT_TYPE)
    return events.with_columns(
        pl.when(row < k).then(pl.lit("E1")).otherwise(pl.col(s.EVENT_ID)).alias(s.EVENT_ID),
        pl.when(row.is_between(k, 2 * k, closed="left"))
        .then(pl.lit("nobody"))
        .otherwise(pl.col(s.CHILD_ID))
        .alias(s.CHILD_ID),
        pl.when(row.is_between(2 * k, 3 * k, closed="left") & (kind == "report.concern"))
        .then(pl.lit(9, pl.Int8))
        .otherwise(pl.col(s.SEVERITY))
        .alias(s.SEVERITY),
        pl.when(row.is_between(3 * k, 4 * k, closed="left"))
        .then(pl.col(s.OCCURRED_AT) - pl.duration(days=1))
        .otherwise(pl.col(s.RECORDED_AT))
        .alias(s.RECORDED_AT),
    )


DUCKDB_SQL = """
CREATE TEMP TABLE kinds AS SELECT * FROM (VALUES {kinds})
  k(event_type, lo, hi, uses_amount, uses_detail);
CREATE TEMP TABLE pairs AS SELECT * FROM (VALUES {pairs}) p(pair_type, code);
WITH e AS (
  SELECT *,
    TRY_CAST(occurred_at AS TIMESTAMP) AS occ, TRY_CAST(recorded_at AS TIMESTAMP) AS rec,
    TRY_CAST(severity AS BIGINT) AS sev, TRY_CAST(amount AS DOUBLE) AS amt
  FROM read_{fmt}('{events}'{opts})
), j AS (
  SELECT e.*, k.lo, k.hi, k.uses_amount, k.uses_detail, k.event_type IS NOT NULL AS known,
    p.code IS NOT NULL AS code_ok
  FROM e LEFT JOIN kinds k USING (event_type)
  LEFT JOIN pairs p ON p.pair_type = e.event_type AND p.code = e.detail
)
SELECT
  count(*) FILTER (WHERE event_id IS NULL OR event_id = '') AS "event_id.required",
  count(*) - count(DISTINCT event_id) AS "event_id.unique",
  count(*) FILTER (WHERE child_id NOT IN (SELECT child_id FROM read_{fmt}('{children}'{opts})))
    AS "child_id.known",
  count(*) FILTER (WHERE NOT known) AS "event_type.known",
  count(*) FILTER (WHERE occurred_at IS NOT NULL AND occ IS NULL) AS "occurred_at.type",
  count(*) FILTER (WHERE recorded_at IS NOT NULL AND rec IS NULL) AS "recorded_at.type",
  count(*) FILTER (WHERE rec < occ) AS "recorded_at.not_before_occurred",
  count(*) FILTER (WHERE known AND lo IS NOT NULL AND (sev < lo OR sev > hi)) AS "severity.range",
  count(*) FILTER (WHERE known AND lo IS NULL AND sev IS NOT NULL) AS "severity.not_used",
  count(*) FILTER (WHERE known AND NOT uses_amount AND amt IS NOT NULL) AS "amount.not_used",
  count(*) FILTER (WHERE amt < 0) AS "amount.not_negative",
  count(*) FILTER (WHERE known AND NOT uses_detail AND detail IS NOT NULL) AS "detail.not_used",
  count(*) FILTER (WHERE known AND uses_detail AND detail IS NOT NULL AND NOT code_ok)
    AS "detail.code"
FROM j
"""


def duckdb_script(folder: Path, fmt: str) -> str:
    kinds = ", ".join(
        f"('{k.event_type}', {k.severity[0] if k.severity else 'NULL'}, "
        f"{k.severity[1] if k.severity else 'NULL'}, {str(k.uses_amount).upper()}, "
        f"{str(k.details is not None).upper()})"
        for k in s.CATALOGUE.values()
    )
    pairs = ", ".join(
        f"('{k.event_type}', '{code}')" for k in s.CATALOGUE.values() for code in k.details or ()
    )
    opts = ", all_varchar=true" if fmt == "csv" else ""
    sql = DUCKDB_SQL.format(
        kinds=kinds,
        pairs=pairs,
        fmt=fmt,
        opts=opts,
        events=folder / f"events.{fmt}",
        children=folder / f"children.{fmt}",
    )
    return textwrap.dedent(f"""
        import duckdb, json
        con = duckdb.connect()
        statements = {sql!r}.strip().split(";")
        for statement in statements[:-1]:
            con.execute(statement)
        cursor = con.execute(statements[-1])
        names = [d[0] for d in cursor.description]
        print(json.dumps(dict(zip(names, cursor.fetchone()))))
    """)


RISKFLAG_SCRIPT = """
import json
from pathlib import Path
from features.contract import validate_folder
report = validate_folder(Path({folder!r}))
counts = {{r.rule: r.count for r in report.violations}}
print(json.dumps(counts | {{"_problems": len(report.problems)}}))
"""


def _counted(script: str) -> tuple[float, float, dict[str, int]]:
    seconds, peak, printed = measure(script)
    return seconds, peak, json.loads(printed.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--children", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = ROOT / ".bench" / f"contract-{args.events}"
    if not (folder / "events.csv").exists():
        print(f"writing {args.events:,} events for {args.children:,} children to {folder} ...")
        rng = np.random.default_rng(7)
        folder.mkdir(parents=True, exist_ok=True)
        children = make_children(args.children, rng)
        events = inject(make_events(args.events, args.children, rng))
        for fmt in ("parquet", "csv"):
            (folder / fmt).mkdir(exist_ok=True)
            getattr(children, f"write_{fmt}")(folder / fmt / f"children.{fmt}")
            getattr(events, f"write_{fmt}")(folder / fmt / f"events.{fmt}")
        (folder / "events.csv").touch()
    rows = []
    for fmt in ("parquet", "csv"):
        ours = _counted(RISKFLAG_SCRIPT.format(folder=str(folder / fmt)))
        peer = _counted(duckdb_script(folder / fmt, fmt))
        agree = all(ours[2].get(rule, 0) == count for rule, count in peer[2].items())
        rows.append((fmt, "riskflag validate (polars)", ours, agree))
        rows.append((fmt, "DuckDB SQL, same checks", peer, agree))
    print(
        f"\nValidating {args.events:,} events, {args.children:,} children "
        f"({INJECTED} injected violations per rule, 4 rules)"
    )
    print(
        f"{'format':<8} {'validator':<28} {'seconds':>8} {'peak MB':>8} {'events/s':>12} "
        f"{'violations':>10} {'counts agree':>12}"
    )
    for fmt, name, (seconds, rss, counts), agree in rows:
        total = sum(v for k, v in counts.items() if not k.startswith("_"))
        print(
            f"{fmt:<8} {name:<28} {seconds:>8.2f} {rss:>8.0f} "
            f"{args.events / seconds:>12,.0f} {total:>10,} {agree!s:>12}"
        )
    print(
        "\nriskflag also checks the children table, timestamps against the export and the "
        "clock, and reports the first 50 rows per rule; the DuckDB query only counts."
    )


if __name__ == "__main__":
    main()
