"""One pass over the events for every as-of date at once.

An as-of grid D_0 < ... < D_{G-1} turns each event into an interval of grid indices over
which it counts: from the first D on or after its ``recorded_at`` (it was known) to the
last D before ``occurred_at + window`` (it is still in the window) or before it expires
under the retention policy. Window aggregates are then sums of +v at the interval's start
and -v just after its end, cumulated over the grid per child (difference arrays);
maxima that only grow as records arrive (the latest occurrence of a kind, the latest of
a group of status events) are running maxima over the starts. Every child's values at
every as-of date come out of one sort and one cumulative sum per window, never a scan
per date.

Units are integer codes (children, or households for association features); results are
keyed by ``key = unit * G + idx`` so that one backward as-of join puts them on the grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from features.config import Window

UNIT = "__unit"
IDX = "__idx"
KEY = "__key"
START = "__start"
EXPIRES_IDX = "__expires_idx"
OCC_US = "__occ_us"
NONE = -(2**62)  # "no such event yet" in running maxima (below any packed time)


@dataclass(frozen=True)
class Grid:
    """The as-of dates, ascending and distinct, as instants (D 00:00 local)."""

    dates: tuple[date, ...]

    @classmethod
    def of(cls, dates: Sequence[date]) -> Grid:
        unique = tuple(sorted(set(dates)))
        if not unique:
            raise ValueError("at least one as-of date is required")
        return cls(unique)

    @property
    def size(self) -> int:
        return len(self.dates)

    @property
    def instants(self) -> pl.Series:
        return pl.Series(
            "grid", [datetime(d.year, d.month, d.day) for d in self.dates], pl.Datetime("us")
        )

    def index_of(self, instant: pl.Expr) -> pl.Expr:
        """Index of the first grid instant at or after ``instant`` (G when none)."""
        return pl.lit(self.instants).search_sorted(instant, side="left").cast(pl.Int64)

    def frame(self) -> pl.LazyFrame:
        return pl.LazyFrame(
            {IDX: pl.int_range(self.size, eager=True, dtype=pl.Int64), "as_of": self.dates}
        )


def with_positions(events: pl.LazyFrame, grid: Grid, recorded: str, occurred: str) -> pl.LazyFrame:
    """Add the grid index where each event becomes known, and its occurrence in µs."""
    return events.with_columns(
        grid.index_of(pl.col(recorded)).alias(START),
        pl.col(occurred).dt.epoch("us").alias(OCC_US),
    )


def _window_end(grid: Grid, window: Window, occurred: str, use_expiry: bool) -> pl.Expr:
    """Exclusive end index of the grid dates at which an event is still in the window."""
    end = (
        pl.lit(grid.size, pl.Int64)
        if window == "all"
        else grid.index_of(pl.col(occurred) + pl.duration(days=window))
    )
    if use_expiry:
        end = pl.min_horizontal(end, pl.col(EXPIRES_IDX))
    return end


def window_sums(
    events: pl.LazyFrame,
    grid: Grid,
    window: Window,
    values: Mapping[str, pl.Expr],
    occurred: str,
    use_expiry: bool,
) -> pl.LazyFrame:
    """Cumulative window sums of ``values`` (Int64 expressions, 0 where an event does not
    count) at each grid index where they change, per unit, keyed by KEY."""
    end = _window_end(grid, window, occurred, use_expiry).alias("__end")
    relevant = pl.any_horizontal([expr != 0 for expr in values.values()])
    spans = (
        events.filter(relevant)
        .with_columns(end)
        .filter((pl.col(START) < grid.size) & (pl.col(START) < pl.col("__end")))
    )
    starts = spans.select(
        pl.col(UNIT), pl.col(START).alias(IDX), *(e.alias(n) for n, e in values.items())
    )
    ends = spans.filter(pl.col("__end") < grid.size).select(
        pl.col(UNIT), pl.col("__end").alias(IDX), *((-e).alias(n) for n, e in values.items())
    )
    return _cumulate(pl.concat([starts, ends]), grid, list(values), "sum")


def running_max(events: pl.LazyFrame, grid: Grid, values: Mapping[str, pl.Expr]) -> pl.LazyFrame:
    """Running maxima of ``values`` (Int64, NONE where an event does not count) over the
    grid indices where events become known."""
    relevant = pl.any_horizontal([expr != NONE for expr in values.values()])
    starts = events.filter(relevant & (pl.col(START) < grid.size)).select(
        pl.col(UNIT), pl.col(START).alias(IDX), *(e.alias(n) for n, e in values.items())
    )
    return _cumulate(starts, grid, list(values), "max")


def interval_sums(
    events: pl.LazyFrame, grid: Grid, begin: pl.Expr, end: pl.Expr, name: str
) -> pl.LazyFrame:
    """How many events have the grid index in [begin, end): for labels."""
    spans = events.with_columns(begin.alias("__b"), end.alias("__e")).filter(
        pl.col("__b") < pl.col("__e")
    )
    starts = spans.select(pl.col(UNIT), pl.col("__b").alias(IDX), pl.lit(1, pl.Int64).alias(name))
    ends = spans.filter(pl.col("__e") < grid.size).select(
        pl.col(UNIT), pl.col("__e").alias(IDX), pl.lit(-1, pl.Int64).alias(name)
    )
    return _cumulate(pl.concat([starts, ends]), grid, [name], "sum")


def _cumulate(changes: pl.LazyFrame, grid: Grid, names: list[str], how: str) -> pl.LazyFrame:
    agg = [getattr(pl.col(n), how)() for n in names]
    ordered = changes.group_by(UNIT, IDX).agg(agg).sort(UNIT, IDX)
    cumulated = ordered.with_columns(
        (pl.col(n).cum_sum() if how == "sum" else pl.col(n).cum_max()).over(UNIT) for n in names
    )
    return cumulated.select(
        (pl.col(UNIT).cast(pl.UInt64) * grid.size + pl.col(IDX).cast(pl.UInt64)).alias(KEY),
        pl.col(UNIT).alias("__from_unit"),
        *names,
    )


def attach(
    rows: pl.LazyFrame, results: pl.LazyFrame, names: Sequence[str], fill: int, unit: str = UNIT
) -> pl.LazyFrame:
    """Put cumulative results on grid rows (sorted by KEY): the latest change at or before
    each row's index for the same unit; ``fill`` where the unit had none yet."""
    joined = rows.join_asof(
        results.rename({KEY: "__rkey"}), left_on=f"{KEY}_{unit}", right_on="__rkey",
        strategy="backward",
    )  # fmt: skip
    same = pl.col("__from_unit") == pl.col(unit)
    return joined.with_columns(
        pl.when(same).then(pl.col(n)).otherwise(pl.lit(fill)).fill_null(fill).alias(n)
        for n in names
    ).drop("__rkey", "__from_unit")
