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
    """Per unit, cumulate each column over the grid indices where it changes.

    Rows are sorted by (unit, idx) and each cumulation runs once over the whole column,
    not once per unit: sums subtract the running total carried in from earlier units;
    maxima first lift each unit's values above every earlier unit's (see ``_lift``). Of
    several rows with the same (unit, idx) the last holds the cumulated value.
    """
    key = pl.col(UNIT).cast(pl.UInt64) * grid.size + pl.col(IDX).cast(pl.UInt64)
    ordered = changes.sort(UNIT, IDX).with_columns(key.alias(KEY))
    if how == "sum":
        first = (pl.col(UNIT) != pl.col(UNIT).shift(1)).fill_null(True)
        row = pl.int_range(pl.len(), dtype=pl.Int64)
        ordered = ordered.with_columns(pl.when(first).then(row).forward_fill().alias("__first"))
        cumulated = [
            pl.col(n).cum_sum()
            - pl.col(n).cum_sum().gather(pl.col("__first"))
            + pl.col(n).gather(pl.col("__first"))
            for n in names
        ]
    else:
        base = pl.col(UNIT) * LIFT
        cumulated = [_unlift((_lift(pl.col(n)) + base).cum_max() - base) for n in names]
    last = (pl.col(KEY) != pl.col(KEY).shift(-1)).fill_null(True)
    return ordered.select(
        pl.col(KEY),
        pl.col(UNIT).alias("__from_unit"),
        *(expr.alias(n) for expr, n in zip(cumulated, names, strict=True)),
    ).filter(last)


# Running maxima run over packed values ``seconds * CODE_BITS + code`` (``pack``) lifted by
# ``unit * LIFT``: every unit then lies above all earlier units, so one cumulative maximum
# over the sorted column never carries a value across units. Seconds since 1900 times 16
# codes fit in 2**37, so units must stay below 2**26 per build (shard beyond that).
LIFT = 2**37
MAX_UNITS = 2**26
CODE_BITS = 16
EPOCH_1900_S = -2_208_988_800


def pack(occurred_us: pl.Expr, code: pl.Expr | int) -> pl.Expr:
    """(occurrence to the second, code) as one orderable Int64 above NONE."""
    seconds = (occurred_us // 1_000_000 - EPOCH_1900_S).clip(1, None)
    return seconds * CODE_BITS + code


def unpack_seconds(packed: pl.Expr) -> pl.Expr:
    """The occurrence of a packed value, in µs since 1970."""
    return (packed // CODE_BITS + EPOCH_1900_S) * 1_000_000


def _lift(value: pl.Expr) -> pl.Expr:
    return pl.when(value == NONE).then(0).otherwise(value)


def _unlift(value: pl.Expr) -> pl.Expr:
    return pl.when(value == 0).then(NONE).otherwise(value)


def attached(
    keys: pl.LazyFrame,
    results: pl.LazyFrame,
    names: Sequence[str],
    fill: int,
    unit: str = UNIT,
    dtypes: Mapping[str, pl.DataType] | None = None,
) -> pl.LazyFrame:
    """Result columns aligned row for row with ``keys`` (sorted by ``KEY_<unit>``): the
    latest change at or before each row's grid index for the same unit, or ``fill``.
    ``dtypes`` narrows columns (strictly: a value that does not fit is an error)."""
    dtypes = dtypes or {}
    joined = keys.join_asof(
        results.rename({KEY: "__rkey"}), left_on=f"{KEY}_{unit}", right_on="__rkey",
        strategy="backward",
    )  # fmt: skip
    same = pl.col("__from_unit") == pl.col(unit)
    return joined.select(
        pl.when(same)
        .then(pl.col(n))
        .otherwise(pl.lit(fill))
        .fill_null(fill)
        .cast(dtypes.get(n, pl.Int64()), strict=True)
        .alias(n)
        for n in names
    )
