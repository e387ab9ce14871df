"""build_features: case histories and an as-of grid in, one row per (child, as-of) out.

Every value for as-of date D uses only events recorded on or before D 00:00; the label
uses outcomes that occurred in (D, D + horizon] and is null where D + horizon passes the
export date. The result for any set of children is the same whether built whole or shard
by shard (a shard keeps households together, so association features are unchanged).

polars reads and joins the histories and holds the result; the values come from the
compiled plan (features.plan) run by the kernels (features.kernel, features.compute) on
chunks of children, so memory follows a chunk, and a household costs what its rows cost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import numpy as np
import polars as pl

from features import schema as s
from features.columns import People, Rows, cohort, feature_values
from features.compute import compute, household_totals
from features.config import ConfigError, FeatureConfig, Policy
from features.contract import CaseHistories
from features.deployment import AREAS, Deployment
from features.events import Events, enum_codes, events_of
from features.kernel import Float, Grid, Int
from features.plan import Plan, compile_plan
from features.registry import Registry
from features.separations import Apart, apart, own_totals, separate
from features.statuses import Categorical

UNIT: Final = "__unit"
HOUSEHOLD: Final = "__household"
AS_OF: Final = "as_of"
CHUNK_CELLS: Final = 100_000  # children x dates per kernel run: bounds memory per chunk


@dataclass(frozen=True)
class FeatureTable:
    frame: pl.LazyFrame
    registry: Registry
    config: FeatureConfig
    policy: Policy
    grid: Grid
    label: str


def shard_of(key: pl.Expr, count: int) -> pl.Expr:
    """The shard of a household key (households stay together; consistent within a run)."""
    return (key.hash(seed=20261129) % count).cast(pl.Int64)


def build_features(
    histories: CaseHistories,
    config: FeatureConfig,
    policy: Policy,
    as_of: Sequence[date],
    shard: tuple[int, int] | None = None,
) -> FeatureTable:
    """The feature table (a LazyFrame over the computed rows) with its registry."""
    check_compatible(config, policy)
    plan = compile_plan(config, policy)
    grid = Grid.of(as_of)
    children = _units(histories, shard).collect()
    columns = [s.CHILD_ID, s.EVENT_TYPE, s.DETAIL, s.OCCURRED_AT, s.RECORDED_AT]
    frame = (
        histories.events.select(*columns, s.SEVERITY, s.AMOUNT)
        .join(children.lazy().select(s.CHILD_ID, UNIT), on=s.CHILD_ID, how="inner")
        .sort(UNIT, maintain_order=True)
        .collect()
    )
    events = events_of(frame, frame[UNIT].to_numpy().astype(np.int64), policy)
    table = pl.concat(list(_chunks(plan, children, events, grid, histories)))
    return FeatureTable(table.lazy(), plan.registry, config, policy, grid, config.label.name)


def _units(histories: CaseHistories, shard: tuple[int, int] | None) -> pl.LazyFrame:
    household = pl.col(s.HOUSEHOLD_ID)
    children = histories.children.with_columns(
        pl.coalesce(household, pl.lit("child:") + pl.col(s.CHILD_ID)).alias("__household_key")
    )
    if shard is not None:
        index, count = shard
        children = children.filter(shard_of(pl.col("__household_key"), count) == index)
    return children.sort(s.CHILD_ID).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UNIT),
        pl.col("__household_key").rank("dense").cast(pl.Int64).sub(1).alias(HOUSEHOLD),
    )


def people_of(children: pl.DataFrame, deployment: Deployment) -> People:
    """The kernels' view of the children (sorted by unit)."""
    area_of = {name: AREAS.index(area) for name, area in deployment.districts.items()}
    births = children[s.BIRTH_DATE].to_numpy().astype("datetime64[D]")
    return People(
        birth_days=births.astype(np.int64),
        sex=enum_codes(children[s.SEX], s.SEX_VALUES),
        area=np.array([area_of[d] for d in children[s.DISTRICT].to_list()], dtype=np.int64),
        hukou=enum_codes(children[s.HUKOU], s.HUKOU_VALUES),
    )


def _chunks(
    plan: Plan, children: pl.DataFrame, events: Events, grid: Grid, histories: CaseHistories
) -> Iterator[pl.DataFrame]:
    people = people_of(children, histories.deployment)
    households = children[HOUSEHOLD].to_numpy().astype(np.int64)
    by_household = _HouseholdIndex.of(events, households) if plan.household else None
    control = _Control.of(plan, children, households, events, grid, histories)
    step = max(1, CHUNK_CELLS // grid.size)
    firsts = list(range(0, children.height, step)) or [0]  # no children: one empty chunk
    for first in firsts:
        last = min(first + step, children.height)
        begin, end = np.searchsorted(events.unit, [first, last])
        mine = events.take(np.arange(begin, end))
        internal = compute(plan, mine.with_units(mine.unit - first), last - first, grid)
        chunk = People(*(getattr(people, f)[first:last] for f in People.__dataclass_fields__))
        rows = cohort(internal, chunk, grid, plan.config)
        totals = _household_values(plan, by_household, households[first:last], grid)
        if totals is not None:
            totals = control.apply(totals, first, last)
        found = feature_values(plan, internal, totals, chunk, rows, grid)
        yield _frame(plan, found, children.slice(first, last - first), rows, grid, histories)


@dataclass(frozen=True)
class _HouseholdIndex:
    """The events grouped by household (for the association features)."""

    events: Events
    pointers: Int

    @classmethod
    def of(cls, events: Events, households: Int) -> _HouseholdIndex:
        of_event = households[events.unit]
        order = np.argsort(of_event, kind="stable")
        grouped = events.take(order).with_units(of_event[order])
        pointers = np.searchsorted(grouped.unit, np.arange(int(households.max(initial=-1)) + 2))
        return cls(grouped, pointers)

    def of_households(self, wanted: Int) -> Events:
        """The events of households ``wanted`` (sorted), their unit the index in it."""
        first, stop = self.pointers[wanted], self.pointers[wanted + 1]
        counts = stop - first
        index = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        chosen = self.events.take(index)
        return chosen.with_units(np.searchsorted(wanted, chosen.unit))


@dataclass(frozen=True)
class _Control:
    """The household members separated from a child (features.separations), and those
    members' own sums, computed once for every chunk."""

    pairs: Apart
    members: Int
    own: Float | None

    @classmethod
    def of(
        cls,
        plan: Plan,
        children: pl.DataFrame,
        households: Int,
        events: Events,
        grid: Grid,
        histories: CaseHistories,
    ) -> _Control:
        if plan.household is None or histories.separations is None:
            return cls(Apart.none(grid.size), np.zeros(0, np.int64), None)
        unit_of = dict(zip(children[s.CHILD_ID].to_list(), children[UNIT].to_list(), strict=True))
        pairs = apart(histories.separations, unit_of, households, grid)
        members = np.unique(pairs.member)
        own = own_totals(plan, events, members, grid) if members.size else None
        return cls(pairs, members, own)

    def apply(self, totals: Float, first: int, last: int) -> Float:
        """The totals of units [first, last) less their separated members' records."""
        if self.own is None:
            return totals
        return separate(totals, self.pairs.within(first, last), self.members, self.own)


def _household_values(
    plan: Plan, index: _HouseholdIndex | None, households: Int, grid: Grid
) -> Float | None:
    """Each unit's household totals of the association sources, (columns, grid size,
    units); None without association features."""
    if index is None:
        return None
    wanted, local = np.unique(households, return_inverse=True)
    totals = household_totals(plan, index.of_households(wanted), wanted.size, grid)
    return totals[:, :, local]


def _frame(
    plan: Plan,
    found: Mapping[str, Any],
    children: pl.DataFrame,
    rows: Rows,
    grid: Grid,
    histories: CaseHistories,
) -> pl.DataFrame:
    units = pl.Series(rows.unit)
    columns: dict[str, pl.Series] = {
        s.CHILD_ID: children[s.CHILD_ID].gather(units),
        AS_OF: pl.Series(AS_OF, grid.dates, pl.Date).gather(pl.Series(rows.index)),
        s.DISTRICT: children[s.DISTRICT].gather(units),
    }
    for spec in plan.registry.specs:
        columns[spec.name] = series(spec.name, found[spec.name], spec.kind)
    label = plan.config.label.name
    columns[label] = _label(found["__outcomes"], rows, grid, plan.config, histories.exported_at)
    return pl.DataFrame(columns)


def series(name: str, values: Any, kind: str) -> pl.Series:
    """A feature's values as the table's column (categoricals as enums; NaN as null)."""
    if isinstance(values, Categorical):
        categories = pl.Series(name, values.categories, pl.String)
        return categories.gather(pl.Series(values.codes)).cast(pl.Enum(values.categories))
    if kind == "max_severity":
        return pl.Series(name, values).fill_nan(None).cast(pl.Int8)
    return pl.Series(name, values)


def _label(
    outcomes: Int, rows: Rows, grid: Grid, config: FeatureConfig, exported_at: datetime
) -> pl.Series:
    """1 where an outcome followed within the horizon, 0 where none did, null where the
    horizon passes the export date."""
    horizon = timedelta(days=config.label.horizon_days)
    known = np.array(
        [datetime(d.year, d.month, d.day) + horizon <= exported_at for d in grid.dates]
    )
    value = np.where(known[rows.index], (outcomes > 0).astype(np.float64), np.nan)
    return pl.Series(config.label.name, value).fill_nan(None).cast(pl.Int8)


def check_compatible(config: FeatureConfig, policy: Policy) -> None:
    retention_days = policy.unsubstantiated_retention_years * 365
    if config.days_since_cap > retention_days:
        raise ConfigError(
            f"windows.days_since_cap: {config.days_since_cap} days is longer than the "
            f"retention of unsubstantiated findings ({policy.unsubstantiated_retention_years} "
            "years): recency would reveal expired records"
        )


def month_grid(start: date, end: date, every: str = "1mo") -> list[date]:
    """As-of dates from ``start`` to ``end`` inclusive every ``every`` (polars interval)."""
    return pl.date_range(start, end, every, eager=True).to_list()
