"""Planted input problems: a copy of a data folder in which one partner's records of the
week before a date went wrong in one of the ways deployed tools have failed silently.

Why: monitoring (features.input_checks, models.monitoring) is only trusted once it has
been seen to catch what it claims to. A division runs a fire drill on a copy of its
data, and the demo shows one healthy batch beside one with a planted problem, with the
same code the tests plant with (one definition of each problem).

How: the week is the seven days before ``as_of`` (the week the input checks judge), by
``recorded_at``; only the events of ``source`` recorded in it change:

- ``silent``: they are gone (a partner that stopped sending);
- ``doubled``: each is there twice, the copy under a new event id (a feed sent twice);
- ``late``: each happened ``days`` before it was recorded (a backlog typed in at once);
- ``emptied``: their severity is empty (a column the partner's new form dropped).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

import polars as pl

from features import schema as s
from features.contract.files import ReadError, locate_table

LATE_DAYS: Final = 60
COPY_SUFFIX: Final = "-again"


class Problem(StrEnum):
    SILENT = "silent"
    DOUBLED = "doubled"
    LATE = "late"
    EMPTIED = "emptied"


def in_week(source: str, as_of: date) -> pl.Expr:
    """The events of ``source`` recorded in the seven days before ``as_of``."""
    end = datetime(as_of.year, as_of.month, as_of.day)
    return (
        pl.col(s.EVENT_TYPE).cast(pl.String).str.starts_with(f"{source}.")
        & (pl.col(s.RECORDED_AT) >= end - timedelta(days=7))
        & (pl.col(s.RECORDED_AT) < end)
    )


def plant(
    events: pl.DataFrame, problem: Problem, source: str, as_of: date, days: int = LATE_DAYS
) -> pl.DataFrame:
    """``events`` with ``problem`` planted in ``source``'s records of the week before
    ``as_of`` (see the module's docstring)."""
    week = in_week(source, as_of)
    if problem is Problem.SILENT:
        return events.filter(~week)
    if problem is Problem.DOUBLED:
        again = events.filter(week).with_columns(pl.col(s.EVENT_ID) + COPY_SUFFIX)
        return pl.concat([events, again])
    if problem is Problem.LATE:
        late = pl.col(s.RECORDED_AT) - timedelta(days=days)
        return events.with_columns(
            pl.when(week).then(late).otherwise(pl.col(s.OCCURRED_AT)).alias(s.OCCURRED_AT)
        )
    return events.with_columns(
        pl.when(week).then(None).otherwise(pl.col(s.SEVERITY)).alias(s.SEVERITY)
    )


def plant_folder(
    folder: Path, out: Path, problem: Problem, source: str, as_of: date
) -> tuple[int, int]:
    """Copy ``folder`` (a contract folder, with whatever else linkage wrote beside it)
    to ``out``, new or empty, with ``problem`` planted in its events; returns the events
    before and after. ``out`` is written whole or not at all. Parquet folders only (a
    CSV folder's times are text until the contract reads them: ReadError says so)."""
    if out.exists() and any(out.iterdir()):
        raise ReadError(f"{out}: not empty: planting writes a new folder")
    table = locate_table(folder, "events")
    if table.suffix != ".parquet":
        raise ReadError(f"{table.name}: planting reads Parquet folders only")
    events = pl.read_parquet(table)
    planted = plant(events, problem, source, as_of)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    planted.write_parquet(staging / table.name)
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return events.height, planted.height
