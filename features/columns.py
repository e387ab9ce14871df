"""From the kernels' internal columns to the feature values of each (child, as-of) row.

The one place each feature kind's value is defined from the kernels' sums and maxima
(docs/features.md says the same in words): counts, highest severities, amounts, "never",
days since the last, recency-weighted counts, trends, source systems, siblings' counts,
statuses, the days since each was last set and the child's own attributes. Values come
out as numpy arrays, one per feature, for the rows the cohort keeps; the batch turns them
into a polars table (features.build), a request feeds them to the model directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from features import schema as s
from features.compute import Internal
from features.config import FeatureConfig
from features.deployment import AREAS
from features.kernel import DAY_US, NONE, Bool, Grid, Int, Values, unpack_us
from features.plan import (
    Plan,
    count_name,
    decayed_name,
    severity_name,
    source_columns,
    trend_names,
)
from features.registry import TREND_RECENT_DAYS, TREND_SPAN_DAYS, FeatureSpec
from features.status_specs import group_of
from features.statuses import Categorical, latest_is, status_columns

UINT16_MAX = 65_535


class ValueOutOfRangeError(ValueError):
    """A computed value does not fit its column's type (never wrapped silently)."""


@dataclass(frozen=True)
class Rows:
    """The cohort's rows of a chunk in two orders: (unit, date), the table's (``unit``,
    ``index``); and (date, unit), the kernels' layout, in which values are read (``cell``:
    ascending places in a flattened (grid index, unit) column, so reading walks memory
    forward; ``read_index``: each one's date) and then put in table order (``order``)."""

    unit: Int
    index: Int
    cell: Int
    read_index: Int
    order: Int

    @classmethod
    def where(cls, eligible: Bool) -> Rows:
        """The True cells of a (grid size, units) mask."""
        index, unit = np.nonzero(eligible)
        order = np.lexsort((index, unit))
        cell = (index * eligible.shape[1] + unit).astype(np.int64)
        return cls(unit[order], index[order], cell, index.astype(np.int64), order)

    def of(self, values: Values) -> Values:
        """The values at these rows, in reading order, of a (grid size, units) column or
        of each column of a (columns, grid size, units) block."""
        if values.ndim == 2:
            return values.reshape(-1)[self.cell]
        columns, size, units = values.shape
        return values.reshape(columns, size * units)[:, self.cell]

    def in_table_order(self, values: Any) -> Any:
        """Values read in reading order, put in table order."""
        if isinstance(values, Categorical):
            return Categorical(values.codes[self.order], values.categories)
        return values[self.order]


@dataclass(frozen=True)
class People:
    """What the features read of each unit's child: birth date (days since 1970) and the
    physical codes of sex, area and hukou."""

    birth_days: Int
    sex: Int
    area: Int
    hukou: Int


def cohort(internal: Internal, people: People, grid: Grid, config: FeatureConfig) -> Rows:
    """The (unit, date) pairs in the model's population: born by the date, of an age in
    the configured range, with a record known by then and not placed, as configured."""
    as_of_days = grid.instants // DAY_US
    age = ages(people.birth_days[None, :], as_of_days[:, None])
    eligible = (people.birth_days[None, :] <= as_of_days[:, None]) & (
        (age >= config.cohort.min_age) & (age <= config.cohort.max_age)
    )
    if config.cohort.require_event:
        eligible &= internal.any_event > 0
    if config.cohort.exclude_out_of_home:
        eligible &= ~latest_is(internal.placed, 1)
    return Rows.where(eligible)


def ages(birth_days: Int, as_of_days: Int) -> Int:
    """Age in whole years on the as-of days (both days since 1970; broadcasts)."""
    as_of = as_of_days.astype("datetime64[D]")
    birth = birth_days.astype("datetime64[D]")
    years = _year(as_of) - _year(birth)
    return years - (_month_day(as_of) < _month_day(birth))


def _year(days: npt.NDArray[np.datetime64]) -> Int:
    return days.astype("datetime64[Y]").astype(np.int64)


def _month_day(days: npt.NDArray[np.datetime64]) -> Int:
    month = days.astype("datetime64[M]")
    in_year: Int = (month - days.astype("datetime64[Y]").astype("datetime64[M]")).astype(np.int64)
    day: Int = (days - month.astype("datetime64[D]")).astype(np.int64)
    month_day: Int = in_year * 100 + day
    return month_day


def feature_values(
    plan: Plan,
    internal: Internal,
    household: Values | None,
    people: People,
    rows: Rows,
    grid: Grid,
) -> dict[str, Any]:
    """Every registry feature's values at ``rows``, plus the label's outcome count
    (``__outcomes``). Categoricals are ``Categorical``; a highest severity with nothing
    recorded is NaN (a float column). ``household``: each unit's household totals,
    (``plan.household.names``, grid size, units)."""
    summed = rows.of(internal.sums)
    at: dict[str, Values] = dict(zip(plan.sums.names, summed, strict=True))
    at.update(zip(plan.running.names, rows.of(internal.running), strict=True))
    at.update(zip(plan.decayed.names, rows.of(internal.decayed), strict=True))
    if household is not None and plan.household is not None:
        at.update(zip(plan.household.names, rows.of(household), strict=True))
    statuses = status_columns(at)
    as_of_us = grid.instants[rows.read_index]
    out: dict[str, Any] = _counts(plan, summed)
    for spec in plan.registry.specs:
        if spec.name in out or spec.kind == "static":
            continue
        if spec.kind == "status":
            out[spec.name] = statuses[spec.name]
        elif spec.kind == "status_days":
            out[spec.name] = days_since(at[group_of(spec)], as_of_us, plan.config.days_since_cap)
        else:
            out[spec.name] = aggregate(spec, at, as_of_us, plan.config)
    out["__outcomes"] = rows.of(internal.outcomes)
    ordered = {name: rows.in_table_order(value) for name, value in out.items()}
    ages_ = ages(people.birth_days[rows.unit], grid.instants[rows.index] // DAY_US)
    static = {
        "age_years": ages_.astype(np.int8),
        "sex": Categorical(people.sex[rows.unit], s.SEX_VALUES),
        "area": Categorical(people.area[rows.unit], AREAS),
        "hukou": Categorical(people.hukou[rows.unit], s.HUKOU_VALUES),
    }
    return {
        spec.name: static.get(spec.name, ordered.get(spec.name)) for spec in plan.registry.specs
    } | {"__outcomes": ordered["__outcomes"]}


def _counts(plan: Plan, summed: Values) -> dict[str, Any]:
    """Every count feature at once (one range check, one conversion): their summed
    columns come first in the plan (features.plan.counts_of)."""
    specs = [spec for spec in plan.registry.specs if spec.kind == "count"]
    block = summed[: len(specs)]
    if block.size and (block.min() < 0 or block.max() > UINT16_MAX):
        worst = int(np.argmax((block < 0).any(axis=1) | (block > UINT16_MAX).any(axis=1)))
        raise ValueOutOfRangeError(f"{specs[worst].name}: a value outside 0-{UINT16_MAX:,}")
    counts = block.astype(np.uint16)
    return {spec.name: counts[i] for i, spec in enumerate(specs)}


def aggregate(
    spec: FeatureSpec, at: Mapping[str, Values], as_of_us: Int, config: FeatureConfig
) -> Any:
    """One count, severity, amount, "never", recency, history or siblings' feature."""
    event_type = spec.sources[0]
    if spec.kind in ("decayed", "trend", "sources"):
        return history(spec, at)
    if spec.kind == "count":
        return _uint16(at[count_name(event_type, spec.detail, spec.window or "all")], spec)
    if spec.kind == "max_severity":
        low, high = s.CATALOGUE[event_type].severity or (0, 0)
        level = np.full(as_of_us.size, np.nan)
        for value in range(low, high + 1):
            level[at[severity_name(spec, value)] > 0] = value
        return level
    if spec.kind == "sum_amount":
        return at[f"__milli__{spec.name}"] / 1000
    never = at[count_name(event_type, spec.detail, "all")] == 0
    if spec.kind == "never":
        return never
    if spec.kind == "days_since":
        days = days_since(at[f"__last__{spec.name}"], as_of_us, config.days_since_cap)
        return np.where(never, config.days_since_cap, days).astype(np.int32)
    name = count_name(event_type, spec.detail, spec.window or "all")
    return _uint16(at[f"__hh__{name}"] - at[name], spec)


def days_since(last: Int, as_of_us: Int, cap: int) -> npt.NDArray[np.int32]:
    """Whole days from a packed latest occurrence to the date, at most ``cap``; ``cap``
    where there is none (NONE): a recency and a status's days since set alike."""
    days = np.clip((as_of_us - unpack_us(last)) // DAY_US, 0, cap)
    return np.where(last == NONE, cap, days).astype(np.int32)


def history(spec: FeatureSpec, at: Mapping[str, Values]) -> Values:
    """A recency-weighted count (as summed), a trend, or the number of source systems
    with a record in the window."""
    if spec.kind == "decayed":
        return at[decayed_name(spec)]
    if spec.kind == "trend":
        recent, span = (at[name] for name in trend_names(spec))
        return trend(recent, span)
    systems = np.stack([at[name] > 0 for name in source_columns(spec)])
    counted: Values = systems.sum(axis=0, dtype=np.uint8)
    return counted


def trend(recent: Values, span: Values) -> Values:
    """The recent count less the rest of the span's, scaled to the recent days: above 0
    when the recent days ran faster than the days before them."""
    recent_days, before_days = TREND_RECENT_DAYS, TREND_SPAN_DAYS - TREND_RECENT_DAYS
    paced: Values = recent - (span - recent) * recent_days / before_days
    return paced


def _uint16(values: Values, spec: FeatureSpec) -> npt.NDArray[np.uint16]:
    if values.size and (values.min() < 0 or values.max() > UINT16_MAX):
        raise ValueOutOfRangeError(
            f"{spec.name}: a value outside 0-{UINT16_MAX:,} ({values.min()}..{values.max()})"
        )
    return values.astype(np.uint16)
