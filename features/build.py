"""build_features: case histories and an as-of grid in, one row per (child, as-of) out.

Every value for as-of date D uses only events recorded on or before D 00:00; the label
uses outcomes that occurred in (D, D + horizon] and is null where D + horizon passes the
export date. The result for any set of children is the same whether built whole or shard
by shard (a shard keeps households together, so association features are unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from features import schema as s
from features.config import ConfigError, FeatureConfig, Policy, Window
from features.contract import CaseHistories
from features.deployment import AREAS
from features.engine import (
    IDX,
    KEY,
    MAX_UNITS,
    NONE,
    OCC_US,
    UNIT,
    Grid,
    attached,
    interval_sums,
    pack,
    running_max,
    unpack_seconds,
    window_sums,
    with_positions,
)
from features.registry import (
    AWAY_STATUSES,
    HOUSEHOLD_SOURCES,
    FeatureSpec,
    Registry,
    build_registry,
    stem,
    window_suffix,
)
from features.retention import with_expiry
from features.statuses import LATEST_OF, latest_is, latest_values_of, match, status_columns

HOUSEHOLD = "__household"
AS_OF = "as_of"
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class FeatureTable:
    frame: pl.LazyFrame
    registry: Registry
    config: FeatureConfig
    policy: Policy
    grid: Grid
    label: str


def _count_name(event_type: str, detail: str | None, window: Window) -> str:
    return f"{stem(event_type, detail)}__count_{window_suffix(window)}"


def _severity_name(spec: FeatureSpec, level: int) -> str:
    return f"__sev_ge{level}__{spec.name}"


# ---- what each window group sums ----------------------------------------------------------


def _window_values(registry: Registry) -> dict[Window, dict[str, pl.Expr]]:
    """Per window: the Int64 contribution of an event to each summed column."""
    groups: dict[Window, dict[str, pl.Expr]] = {}

    def add(window: Window, name: str, expr: pl.Expr) -> None:
        groups.setdefault(window, {})[name] = expr.cast(pl.Int64).fill_null(0)

    for spec in registry.specs:
        event_type = spec.sources[0] if spec.sources else ""
        selected = match(event_type, spec.detail) if spec.sources else pl.lit(False)
        if spec.kind in ("count", "never", "household") and spec.window is not None:
            window = "all" if spec.kind == "never" else spec.window
            add(window, _count_name(event_type, spec.detail, window), selected)
        elif spec.kind == "max_severity" and spec.window is not None:
            low, high = s.CATALOGUE[event_type].severity or (0, 0)
            for level in range(low, high + 1):
                sev = pl.col(s.SEVERITY).fill_null(-1) >= level
                add(spec.window, _severity_name(spec, level), selected & sev)
        elif spec.kind == "sum_amount" and spec.window is not None:
            milli = (pl.col(s.AMOUNT) * 1000).round(0)
            add(spec.window, f"__milli__{spec.name}", pl.when(selected).then(milli).otherwise(0))
    parent = pl.col(s.EVENT_TYPE) == "community.parent_status"
    status = {
        "__parents_deceased": parent & (pl.col(s.DETAIL) == "deceased"),
        "__parents_left": parent & pl.col(s.DETAIL).is_in(AWAY_STATUSES),
        "__parents_returned": parent & (pl.col(s.DETAIL) == "returned"),
        "__unattended": match("community.unattended_registered"),
        "__disabled": match("health.disability_certified"),
    }
    for name, expr in status.items():
        add("all", name, expr)
    return groups


def _latest_values(registry: Registry) -> dict[str, pl.Expr]:
    """Running-maximum columns: latest occurrence per recency feature, packed
    (occurrence, code) per status group, and the latest disability level."""
    values: dict[str, pl.Expr] = {}
    for spec in registry.specs:
        if spec.kind == "days_since":
            selected = match(spec.sources[0], spec.detail)
            values[f"__last__{spec.name}"] = (
                pl.when(selected).then(pack(pl.col(OCC_US), 0)).otherwise(NONE)
            )
    for group, codes in LATEST_OF.items():
        if group != "__placed":  # the cohort's, computed before the other features
            values[group] = latest_values_of(codes)
    level = pl.col(s.SEVERITY).cast(pl.Int64).fill_null(0)
    values["__disability_level"] = (
        pl.when(match("health.disability_certified"))
        .then(pack(pl.col(OCC_US), level))
        .otherwise(NONE)
    )
    return values


# ---- assembling -------------------------------------------------------------------------


def _units(histories: CaseHistories, shard: tuple[int, int] | None) -> pl.LazyFrame:
    children = histories.children.with_columns(
        pl.coalesce(pl.col(s.HOUSEHOLD_ID), pl.lit("child:") + pl.col(s.CHILD_ID)).alias(
            "__household_key"
        )
    )
    if shard is not None:
        index, count = shard
        children = children.filter(shard_of(pl.col("__household_key"), count) == index)
    return children.sort(s.CHILD_ID).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UNIT),
        pl.col("__household_key").rank("dense").cast(pl.Int64).alias(HOUSEHOLD),
    )


def shard_of(key: pl.Expr, count: int) -> pl.Expr:
    """The shard of a household key (households stay together; consistent within a run)."""
    return (key.hash(seed=20261129) % count).cast(pl.Int64)


def _grid_rows(units: pl.LazyFrame, grid: Grid, config: FeatureConfig) -> pl.LazyFrame:
    as_of = pl.col(AS_OF)
    birth = pl.col(s.BIRTH_DATE)

    def month_day(day: pl.Expr) -> pl.Expr:  # dt.month() is Int8: widen before scaling
        return day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)

    before_birthday = month_day(as_of) < month_day(birth)
    age = as_of.dt.year().cast(pl.Int32) - birth.dt.year() - before_birthday.cast(pl.Int32)
    rows = (
        units.join(grid.frame(), how="cross")
        .with_columns(age.alias("age_years"))
        .filter(
            (birth <= as_of)
            & pl.col("age_years").is_between(config.cohort.min_age, config.cohort.max_age)
        )
    )
    return rows.with_columns(
        (pl.col(UNIT).cast(pl.UInt64) * grid.size + pl.col(IDX).cast(pl.UInt64)).alias(
            f"{KEY}_{UNIT}"
        ),
        (pl.col(HOUSEHOLD).cast(pl.UInt64) * grid.size + pl.col(IDX).cast(pl.UInt64)).alias(
            f"{KEY}_{HOUSEHOLD}"
        ),
    ).sort(f"{KEY}_{UNIT}")


def _household_part(
    rows: pl.LazyFrame, events: pl.LazyFrame, grid: Grid, config: FeatureConfig
) -> pl.LazyFrame:
    """Household totals of the association sources, aligned with ``rows``."""
    in_household = events.with_columns(pl.col(HOUSEHOLD).alias(UNIT))
    keys = (
        rows.select(f"{KEY}_{HOUSEHOLD}", HOUSEHOLD)
        .with_row_index("__row")
        .sort(f"{KEY}_{HOUSEHOLD}")
    )
    parts = []
    for window in config.household_windows:
        values = {
            f"__hh__{_count_name(t, d, window)}": match(t, d).cast(pl.Int64)
            for t, d in HOUSEHOLD_SOURCES
        }
        sums = window_sums(in_household, grid, window, values, s.OCCURRED_AT, use_expiry=True)
        parts.append(attached(keys, sums, list(values), 0, unit=HOUSEHOLD))
    aligned = pl.concat([keys.select("__row"), *parts], how="horizontal").sort("__row")
    return aligned.drop("__row")


def _label(events: pl.LazyFrame, grid: Grid, config: FeatureConfig, name: str) -> pl.LazyFrame:
    horizon = timedelta(days=config.label.horizon_days)
    outcome = pl.lit(False)
    for item in config.label.outcomes:
        condition = match(item.event_type, item.detail)
        if item.min_severity is not None:
            condition &= pl.col(s.SEVERITY) >= item.min_severity
        outcome |= condition.fill_null(False)
    occurred = pl.col(s.OCCURRED_AT)
    return interval_sums(
        events.filter(outcome),
        grid,
        grid.index_of(occurred - horizon),
        grid.index_of(occurred),
        name,
    )


def build_features(
    histories: CaseHistories,
    config: FeatureConfig,
    policy: Policy,
    as_of: Sequence[date],
    shard: tuple[int, int] | None = None,
) -> FeatureTable:
    """The feature table as a LazyFrame (collect once, at the edge) with its registry."""
    check_compatible(config, policy)
    registry = build_registry(config, policy)
    grid = Grid.of(as_of)
    if histories.children.select(pl.len()).collect().item() >= MAX_UNITS:
        raise ValueError(f"more than {MAX_UNITS:,} children in one build: build by shards")
    units = _units(histories, shard)
    events = histories.events.join(
        units.select(s.CHILD_ID, UNIT, HOUSEHOLD), on=s.CHILD_ID, how="inner"
    )
    events = with_positions(with_expiry(events, policy, grid), grid, s.RECORDED_AT, s.OCCURRED_AT)
    rows = _cohort(_grid_rows(units, grid, config), events, grid, config)
    keys = rows.select(f"{KEY}_{UNIT}", UNIT)
    parts = [
        attached(
            keys,
            window_sums(events, grid, window, values, s.OCCURRED_AT, True),
            list(values),
            0,
            dtypes=_narrow(values),
        )
        for window, values in _window_values(registry).items()
    ]
    latest = _latest_values(registry)
    parts.append(attached(keys, running_max(events, grid, latest), list(latest), NONE))
    label = config.label.name
    outcomes = _label(events, grid, config, "__outcomes")
    parts.append(attached(keys, outcomes, ["__outcomes"], 0, dtypes={"__outcomes": pl.UInt32()}))
    if any(spec.kind == "household" for spec in registry.specs):
        parts.append(_household_part(rows, events, grid, config))
    rows = pl.concat([rows, *parts], how="horizontal")
    frame = _finish(rows, registry, config, histories, label)
    return FeatureTable(frame, registry, config, policy, grid, label)


def _narrow(values: dict[str, pl.Expr]) -> dict[str, pl.DataType]:
    """Counts fit UInt16 (a larger one fails loudly); amounts stay Int64 thousandths."""
    return {name: pl.Int64() if name.startswith("__milli__") else pl.UInt16() for name in values}


def _cohort(
    rows: pl.LazyFrame, events: pl.LazyFrame, grid: Grid, config: FeatureConfig
) -> pl.LazyFrame:
    """Grid rows of the eligible cohort: age already filtered; at least one event recorded
    by then and not in out-of-home placement, as configured."""
    keys = rows.select(f"{KEY}_{UNIT}", UNIT)
    anything = {"__any_event": pl.lit(1, pl.Int64)}
    seen = window_sums(events, grid, "all", anything, s.OCCURRED_AT, False)
    placement = {"__placed": latest_values_of(LATEST_OF["__placed"])}
    placed = running_max(events, grid, placement)
    rows = pl.concat(
        [
            rows,
            attached(keys, seen, ["__any_event"], 0, dtypes={"__any_event": pl.UInt32()}),
            attached(keys, placed, ["__placed"], NONE),
        ],
        how="horizontal",
    )
    eligible = pl.lit(True)
    if config.cohort.require_event:
        eligible &= pl.col("__any_event") > 0
    if config.cohort.exclude_out_of_home:
        eligible &= ~latest_is("__placed", 1)
    return rows.filter(eligible)


def check_compatible(config: FeatureConfig, policy: Policy) -> None:
    retention_days = policy.unsubstantiated_retention_years * 365
    if config.days_since_cap > retention_days:
        raise ConfigError(
            f"windows.days_since_cap: {config.days_since_cap} days is longer than the "
            f"retention of unsubstantiated findings ({policy.unsubstantiated_retention_years} "
            "years): recency would reveal expired records"
        )


# ---- final columns ------------------------------------------------------------------------


def _feature_column(spec: FeatureSpec, config: FeatureConfig) -> pl.Expr:
    event_type = spec.sources[0] if spec.sources else ""
    if spec.kind == "count":
        # UInt16 halves the table; a count above 65,535 fails loudly rather than wrapping
        column = pl.col(_count_name(event_type, spec.detail, spec.window or "all"))
        return column.cast(pl.UInt16, strict=True)
    if spec.kind == "max_severity":
        low, high = s.CATALOGUE[event_type].severity or (0, 0)
        level = pl.lit(None, pl.Int8)
        for value in range(low, high + 1):
            level = pl.when(pl.col(_severity_name(spec, value)) > 0).then(value).otherwise(level)
        return level.cast(pl.Int8)
    if spec.kind == "sum_amount":
        return (pl.col(f"__milli__{spec.name}") / 1000).cast(pl.Float64)
    if spec.kind == "never":
        return pl.col(_count_name(event_type, spec.detail, "all")) == 0
    if spec.kind == "days_since":
        last = pl.col(f"__last__{spec.name}")
        as_of_us = pl.col(AS_OF).cast(pl.Datetime("us")).dt.epoch("us")
        days = (as_of_us - unpack_seconds(last)) // DAY_US
        never = pl.col(_count_name(event_type, spec.detail, "all")) == 0
        cap = config.days_since_cap
        return pl.when(never | (last == NONE)).then(cap).otherwise(days.clip(0, cap)).cast(pl.Int32)
    if spec.kind == "household":
        name = _count_name(event_type, spec.detail, spec.window or "all")
        siblings = pl.col(f"__hh__{name}").cast(pl.Int32) - pl.col(name).cast(pl.Int32)
        return siblings.cast(pl.UInt16, strict=True)  # signed first: never a silent wrap
    raise AssertionError(spec.kind)


def _finish(
    rows: pl.LazyFrame,
    registry: Registry,
    config: FeatureConfig,
    histories: CaseHistories,
    label: str,
) -> pl.LazyFrame:
    areas = histories.deployment.districts
    exported = histories.exported_at
    horizon = timedelta(days=config.label.horizon_days)
    known = pl.col(AS_OF).cast(pl.Datetime("us")) + horizon <= exported
    static = {
        "age_years": pl.col("age_years").cast(pl.Int8),
        "sex": pl.col(s.SEX),
        "area": pl.col(s.DISTRICT)
        .replace_strict(dict(areas), return_dtype=pl.String)
        .cast(pl.Enum(AREAS)),
        "hukou": pl.col(s.HUKOU),
    }
    statuses = status_columns()
    columns = []
    for spec in registry.specs:
        if spec.kind == "static":
            expr = static[spec.name]
        elif spec.kind == "status":
            expr = statuses[spec.name]
        else:
            expr = _feature_column(spec, config)
        columns.append(expr.alias(spec.name))
    outcome = pl.when(known).then((pl.col("__outcomes") > 0).cast(pl.Int8))
    return rows.select(
        pl.col(s.CHILD_ID),
        pl.col(AS_OF),
        pl.col(s.DISTRICT),
        *columns,
        outcome.alias(label),
    ).sort(s.CHILD_ID, AS_OF)


def month_grid(start: date, end: date, every: str = "1mo") -> list[date]:
    """As-of dates from ``start`` to ``end`` inclusive every ``every`` (polars interval)."""
    return pl.date_range(start, end, every, eager=True).to_list()
