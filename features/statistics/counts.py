"""The counts: children of each population and children supported, per month and place.

Populations come from a feature table built on the first day of every month of the span
and the month after it (``features.build``: records entered by that day only, the
pipeline's own statuses); a child is in a population at a month's end when it is on the
first day of the next month. Of a month: ``total`` is the children in at its end, ``new``
those in at its end but not at its start, ``ended`` those in at its start but not at its
end (a child who turns 18 ends). Support is counted from the records of kinds the
definitions list that occurred in the month: ``children`` who received it (aged as the
populations are on the day), ``records``, and ``yuan`` (the sum of recorded amounts).

Every count is by district; an area's and the city's are the sums of their districts'
(a child lives in one district), so the margins add up before suppression.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Final

import polars as pl

from features import schema as s
from features.build import build_features, month_grid
from features.config import load_policy
from features.contract import CaseHistories
from features.statistics.definitions import Definitions, StatisticsConfigError

MONTH: Final = "month"
LEVEL: Final = "level"  # "district", "area" or "city"
PLACE: Final = "place"  # the district's or area's name, or CITY
AREA: Final = "area"  # the area a row's place lies in (the city's: CITY)
GROUP: Final = "group"  # the population's or support area's key
MEASURE: Final = "measure"
COUNT: Final = "count"
CITY: Final = "all"
LEVELS: Final = ("district", "area", "city")
POPULATION_MEASURES: Final = ("total", "new", "ended")
SUPPORT_MEASURES: Final = ("children", "records", "yuan")
COLUMNS: Final = (MONTH, LEVEL, PLACE, AREA, GROUP, MEASURE, COUNT)


@dataclass(frozen=True)
class Counts:
    """The counts of a span of months, before suppression (never shown as they are)."""

    months: tuple[date, ...]  # the first day of each month counted
    exported_at: str  # the export instant the counts see (ISO)
    populations: pl.DataFrame  # COLUMNS, measures total/new/ended
    support: pl.DataFrame  # COLUMNS, measures children/records/yuan


def months_of(exported_at: date, count: int) -> tuple[date, ...]:
    """The last ``count`` whole months before an export date (first days, oldest first):
    a month is whole when the export was taken on or after the first day of the next."""
    last = exported_at.replace(day=1)
    first = _shift(last, -count)
    return tuple(month_grid(first, _shift(last, -1)))


def _shift(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def count_all(histories: CaseHistories, definitions: Definitions) -> Counts:
    """Every count of the definitions' span of months before the export."""
    months = months_of(histories.exported_at.date(), definitions.months)
    places = _places(histories)
    return Counts(
        months=months,
        exported_at=histories.exported_at.isoformat(),
        populations=_with_margins(population_counts(histories, definitions, months), places),
        support=_with_margins(support_counts(histories, definitions, months), places),
    )


def population_counts(
    histories: CaseHistories, definitions: Definitions, months: tuple[date, ...]
) -> pl.DataFrame:
    """Total, new and ended of each population, month and district (district rows only)."""
    days = [*months, _shift(months[-1], 1)]
    member = memberships(histories, definitions, days)
    end = member.filter(pl.col("__at") >= 1).with_columns(pl.lit(True).alias("__end"))
    start = member.filter(pl.col("__at") < len(months)).with_columns(
        (pl.col("__at") + 1).alias("__at"), pl.lit(True).alias("__start")
    )
    both = end.join(start, on=[s.CHILD_ID, GROUP, "__at"], how="full", coalesce=True)
    in_end, in_start = pl.col("__end").fill_null(False), pl.col("__start").fill_null(False)
    flags = both.with_columns(
        in_end.alias("total"),
        (in_end & ~in_start).alias("new"),
        (in_start & ~in_end).alias("ended"),
    )
    keys = [p.key for p in definitions.populations]
    return _by_district(flags, histories, months, POPULATION_MEASURES, keys)


def memberships(
    histories: CaseHistories, definitions: Definitions, days: list[date]
) -> pl.DataFrame:
    """(child, ``__at``: the index of the day in ``days``, group) for every child in a
    population on a day, from the feature table of those days (the pipeline's statuses)."""
    policy = replace(load_policy(), exclude=(), association=False)
    frame = build_features(histories, definitions.feature_config(), policy, days).frame.collect()
    for population in definitions.populations:
        missing = [c.feature for c in population.any if c.feature not in frame.columns]
        if missing:
            raise StatisticsConfigError(
                f"population {population.key!r}: {missing[0]!r} is not a feature of the pipeline"
            )
    index = {day: i for i, day in enumerate(days)}
    return (
        frame.select(
            s.CHILD_ID,
            pl.col("as_of").replace_strict(index, return_dtype=pl.Int32).alias("__at"),
            *[p.expr().alias(p.key) for p in definitions.populations],
        )
        .unpivot(
            index=[s.CHILD_ID, "__at"],
            on=[p.key for p in definitions.populations],
            variable_name=GROUP,
            value_name="__in",
        )
        .filter(pl.col("__in"))
        .drop("__in")
    )


def _by_district(
    flags: pl.DataFrame,
    histories: CaseHistories,
    months: tuple[date, ...],
    measures: tuple[str, ...],
    groups: list[str],
    sums: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Counts of children (``measures`` are per-child flags; ``sums`` are summed) by
    month, district and group; every combination present, zeros included."""
    district = histories.children.select(s.CHILD_ID, s.DISTRICT).collect()
    counted = (
        flags.join(district, on=s.CHILD_ID, how="inner")
        .group_by("__at", s.DISTRICT, GROUP)
        .agg(
            *[pl.col(m).sum().cast(pl.Float64) for m in measures],
            *[pl.col(m).sum() for m in sums],
        )
        .unpivot(index=["__at", s.DISTRICT, GROUP], variable_name=MEASURE, value_name=COUNT)
    )
    grid = (
        pl.DataFrame({"__at": list(range(1, len(months) + 1))}, schema={"__at": pl.Int32})
        .join(pl.DataFrame({s.DISTRICT: sorted(histories.deployment.districts)}), how="cross")
        .join(pl.DataFrame({GROUP: groups}), how="cross")
        .join(pl.DataFrame({MEASURE: [*measures, *sums]}), how="cross")
    )
    month = pl.col("__at").replace_strict(
        {i + 1: m for i, m in enumerate(months)}, return_dtype=pl.Date
    )
    return (
        grid.join(counted, on=["__at", s.DISTRICT, GROUP, MEASURE], how="left")
        .with_columns(month.alias(MONTH), pl.col(COUNT).fill_null(0.0))
        .select(MONTH, pl.col(s.DISTRICT).alias(PLACE), GROUP, MEASURE, COUNT)
    )


def support_counts(
    histories: CaseHistories, definitions: Definitions, months: tuple[date, ...]
) -> pl.DataFrame:
    """Children supported, records and yuan of each support area, month and district."""
    area_of = definitions.area_of()
    whole = {t: a for (t, d), a in area_of.items() if d is None}
    by_detail = {f"{t}/{d}": a for (t, d), a in area_of.items() if d is not None}
    start, end = months[0], _shift(months[-1], 1)
    births, ages = histories.children.select(s.CHILD_ID, s.BIRTH_DATE), definitions.max_age
    day = pl.col(s.OCCURRED_AT).dt.date()
    events = (
        histories.events.select(s.CHILD_ID, s.EVENT_TYPE, s.DETAIL, s.OCCURRED_AT, s.AMOUNT)
        .with_columns(pl.col(s.EVENT_TYPE).cast(pl.String), pl.col(s.DETAIL).cast(pl.String))
        .filter((day >= start) & (day < end))
        .with_columns(
            pl.coalesce(
                (pl.col(s.EVENT_TYPE) + "/" + pl.col(s.DETAIL)).replace_strict(
                    by_detail, default=None, return_dtype=pl.String
                ),
                pl.col(s.EVENT_TYPE).replace_strict(whole, default=None, return_dtype=pl.String),
            ).alias(GROUP),
            (day.dt.year() * 12 + day.dt.month().cast(pl.Int32) - 1).alias("__month"),
        )
        .filter(pl.col(GROUP).is_not_null())
        .join(births, on=s.CHILD_ID, how="inner")
        .filter(_age(day, pl.col(s.BIRTH_DATE)).is_between(definitions.min_age, ages))
        .collect()
    )
    first = start.year * 12 + start.month - 1
    per_child = events.group_by(s.CHILD_ID, GROUP, "__month").agg(
        pl.lit(True).alias("children"),
        pl.len().cast(pl.Float64).alias("records"),
        pl.col(s.AMOUNT).sum().alias("yuan"),
    )
    flags = per_child.with_columns((pl.col("__month") - first + 1).cast(pl.Int32).alias("__at"))
    groups = [a.key for a in definitions.support]
    return _by_district(flags, histories, months, ("children",), groups, ("records", "yuan"))


def _age(day: pl.Expr, birth: pl.Expr) -> pl.Expr:
    """Age in whole years on ``day`` (as features.columns.ages counts it)."""

    def month_day(value: pl.Expr) -> pl.Expr:  # month and day are Int8: widen first
        return value.dt.month().cast(pl.Int32) * 100 + value.dt.day().cast(pl.Int32)

    before = month_day(day) < month_day(birth)
    return day.dt.year() - birth.dt.year() - before.cast(pl.Int32)


def _places(histories: CaseHistories) -> pl.DataFrame:
    districts = histories.deployment.districts
    return pl.DataFrame({PLACE: list(districts), AREA: list(districts.values())})


def _with_margins(by_district: pl.DataFrame, places: pl.DataFrame) -> pl.DataFrame:
    """District rows with their areas' and the city's sums (the same columns)."""
    keys = [MONTH, GROUP, MEASURE]
    districts = by_district.join(places, on=PLACE, how="left").with_columns(
        pl.lit("district").alias(LEVEL)
    )
    areas = (
        districts.group_by(*keys, AREA)
        .agg(pl.col(COUNT).sum())
        .with_columns(pl.col(AREA).alias(PLACE), pl.lit("area").alias(LEVEL))
    )
    city = (
        districts.group_by(*keys)
        .agg(pl.col(COUNT).sum())
        .with_columns(
            pl.lit(CITY).alias(PLACE), pl.lit(CITY).alias(AREA), pl.lit("city").alias(LEVEL)
        )
    )
    level = pl.col(LEVEL).replace_strict({v: i for i, v in enumerate(LEVELS)}, return_dtype=pl.Int8)
    return pl.concat([frame.select(COLUMNS) for frame in (districts, areas, city)]).sort(
        MONTH, GROUP, MEASURE, level, AREA, PLACE
    )
