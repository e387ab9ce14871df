"""The retention policy: an unsubstantiated finding, and the reports behind it, stop counting.

A finding with detail ``unsubstantiated`` stops counting N years (policy) after it
occurred. A report is behind a finding when that finding is the child's first finding
to occur on or after the report, within ``report_link_days``; a report behind an
unsubstantiated finding stops counting N years after the report occurred, but never
before the finding was recorded: until then nobody knew the finding was unsubstantiated,
so the expiry itself cannot leak what was recorded later.
"""

from __future__ import annotations

import polars as pl

from features import schema as s
from features.config import Policy
from features.engine import EXPIRES_IDX, UNIT, Grid

EXPIRES_AT = "__expires_at"


def with_expiry(events: pl.LazyFrame, policy: Policy, grid: Grid) -> pl.LazyFrame:
    """Add when each event stops counting (null: never) and its grid index (G: never)."""
    years = f"{policy.unsubstantiated_retention_years}y"
    finding = pl.col(s.EVENT_TYPE) == "welfare.finding"
    findings = (
        events.filter(finding)
        .select(
            pl.col(UNIT),
            pl.col(s.OCCURRED_AT).alias("__f_occ"),
            pl.col(s.RECORDED_AT).alias("__f_rec"),
            pl.col(s.DETAIL).alias("__f_detail"),
        )
        .sort("__f_occ")
    )
    reports = (
        events.filter(pl.col(s.EVENT_TYPE) == "report.concern")
        .select(pl.col(s.EVENT_ID), pl.col(UNIT), pl.col(s.OCCURRED_AT))
        .sort(s.OCCURRED_AT)
    )
    linked = reports.join_asof(
        findings,
        left_on=s.OCCURRED_AT,
        right_on="__f_occ",
        by=UNIT,
        strategy="forward",
        tolerance=f"{policy.report_link_days}d",
        check_sortedness=False,
    ).select(
        pl.col(s.EVENT_ID),
        pl.when(pl.col("__f_detail") == "unsubstantiated")
        .then(pl.max_horizontal(pl.col(s.OCCURRED_AT).dt.offset_by(years), pl.col("__f_rec")))
        .alias("__report_expiry"),
    )
    unsubstantiated = finding & (pl.col(s.DETAIL) == "unsubstantiated")
    expires = (
        pl.when(unsubstantiated)
        .then(pl.col(s.OCCURRED_AT).dt.offset_by(years))
        .otherwise(pl.col("__report_expiry"))
    )
    return (
        events.join(linked, on=s.EVENT_ID, how="left", maintain_order="left")
        .with_columns(expires.alias(EXPIRES_AT))
        .with_columns(
            pl.when(pl.col(EXPIRES_AT).is_null())
            .then(pl.lit(grid.size, pl.Int64))
            .otherwise(grid.index_of(pl.col(EXPIRES_AT)))
            .alias(EXPIRES_IDX)
        )
        .drop("__report_expiry")
    )
