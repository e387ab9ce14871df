"""What an analyst looks at first in a data folder: how many records of each kind arrive
over time and where, and how often the outcome happens, over time and by area.

Every function takes the checked case histories (or a feature table) and returns a polars
frame; the notebooks plot them. Counts are of events by when they occurred, per calendar
period (``every``: a polars interval, ``1mo`` by default).
"""

from __future__ import annotations

from datetime import date
from typing import Final

import polars as pl

from features import schema as s
from features.build import build_features, month_grid
from features.config import FeatureConfig, Policy
from features.contract import CaseHistories

SOURCE: Final = "source"
PERIOD: Final = "period"


def _with_source(events: pl.LazyFrame) -> pl.LazyFrame:
    return events.with_columns(
        pl.col(s.EVENT_TYPE).cast(pl.String).str.split(".").list.first().alias(SOURCE)
    )


def volumes(
    histories: CaseHistories, by: str = SOURCE, every: str = "1mo", district: bool = False
) -> pl.DataFrame:
    """Events per period (when they occurred) and ``by`` (``source`` or ``event_type``),
    and per district when asked; long format, sorted."""
    if by not in (SOURCE, s.EVENT_TYPE):
        raise ValueError(f"by: {SOURCE!r} or {s.EVENT_TYPE!r}, not {by!r}")
    keys = [PERIOD, by] + ([s.DISTRICT] if district else [])
    events = _with_source(histories.events)
    if district:
        events = events.join(
            histories.children.select(s.CHILD_ID, s.DISTRICT), on=s.CHILD_ID, how="left"
        )
    return (
        events.with_columns(pl.col(s.OCCURRED_AT).dt.truncate(every).dt.date().alias(PERIOD))
        .with_columns(pl.col(by).cast(pl.String))
        .group_by(keys)
        .agg(pl.len().alias("events"))
        .sort(keys)
        .collect()
    )


def children_per_district(histories: CaseHistories) -> pl.DataFrame:
    """Children and their events per district, with the district's area."""
    areas = pl.DataFrame(
        {
            s.DISTRICT: list(histories.deployment.districts),
            "area": list(histories.deployment.districts.values()),
        }
    )
    events = histories.events.group_by(s.CHILD_ID).agg(pl.len().alias("events"))
    return (
        histories.children.join(events, on=s.CHILD_ID, how="left")
        .group_by(s.DISTRICT)
        .agg(pl.len().alias("children"), pl.col("events").fill_null(0).sum())
        .collect()
        .join(areas, on=s.DISTRICT, how="left")
        .sort("children", descending=True)
    )


def outcome_rates(
    histories: CaseHistories,
    config: FeatureConfig,
    policy: Policy,
    start: date,
    end: date,
    every: str = "1mo",
    by: str | None = None,
) -> pl.DataFrame:
    """The label's base rate per as-of date (and per ``by``: a feature-table column such
    as ``area`` or ``district``) among the cohort, where the label is known."""
    table = build_features(histories, config, policy, month_grid(start, end, every))
    label = table.label
    keys = ["as_of"] + ([by] if by else [])
    return (
        table.frame.filter(pl.col(label).is_not_null())
        .group_by(keys)
        .agg(
            pl.len().alias("children"),
            pl.col(label).sum().alias("outcomes"),
            pl.col(label).mean().alias("rate"),
        )
        .with_columns(pl.col(k).cast(pl.String) for k in keys[1:])
        .sort(keys)
        .collect()
    )
