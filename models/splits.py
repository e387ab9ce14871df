"""Temporal validation in the manner of Triage's timechop.

A model is trained on the past and judged on the future, and a label is a look into the
future: a training row at as-of date D carries a label about (D, D + horizon]. So the
blocks are separated by the horizon: every training row's label window ends on or before
the first calibration date, and every calibration row's on or before the first test date.
Calibration is fitted on a block later than training, as the issue asks, so that it
corrects the model for drift rather than for its own fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

AS_OF = "as_of"


class SplitError(ValueError):
    """The as-of dates cannot support the requested split; says which block is empty."""


@dataclass(frozen=True)
class TemporalSplit:
    """As-of dates of the training, calibration and test blocks."""

    train: tuple[date, ...]
    calibration: tuple[date, ...]
    test: tuple[date, ...]
    horizon_days: int

    def label_end(self, as_of: date) -> date:
        return as_of + timedelta(days=self.horizon_days)

    def describe(self) -> dict[str, object]:
        def span(dates: tuple[date, ...]) -> str:
            return f"{dates[0]}..{dates[-1]} ({len(dates)} dates)"

        return {
            "train": span(self.train),
            "calibration": span(self.calibration),
            "test": span(self.test),
            "horizon_days": self.horizon_days,
        }

    def frames(self, table: pl.LazyFrame, label: str) -> tuple[pl.LazyFrame, ...]:
        """Rows of each block with a known label (a null label is an unknown future)."""
        known = pl.col(label).is_not_null()
        return tuple(
            table.filter(pl.col(AS_OF).is_in(list(block)) & known)
            for block in (self.train, self.calibration, self.test)
        )


def temporal_split(
    as_of_dates: Sequence[date],
    horizon_days: int,
    test_from: date,
    calibration_dates: int = 3,
    train_history_days: int | None = None,
    test_dates: int | None = None,
) -> TemporalSplit:
    """Split as-of dates into training, calibration and test blocks.

    ``test_from``: the first test date (the test block is the dates from it on, at most
    ``test_dates`` of them). The calibration block is the latest ``calibration_dates``
    dates whose label windows end on or before the first test date; training is every
    earlier date whose label window ends on or before the first calibration date, at most
    ``train_history_days`` before the latest date that qualifies.
    """
    if horizon_days <= 0:
        raise SplitError(f"horizon_days must be positive, got {horizon_days}")
    if calibration_dates < 1:
        raise SplitError("calibration needs at least one as-of date")
    dates = sorted(set(as_of_dates))
    test = [d for d in dates if d >= test_from][: test_dates or None]
    if not test:
        raise SplitError(f"no as-of date on or after the test start {test_from}")
    horizon = timedelta(days=horizon_days)
    before_test = [d for d in dates if d + horizon <= test[0]]
    calibration = before_test[-calibration_dates:]
    if len(calibration) < calibration_dates:
        raise SplitError(
            f"calibration needs {calibration_dates} as-of dates whose {horizon_days}-day "
            f"label windows end by {test[0]}; found {len(calibration)}"
        )
    train = [d for d in dates if d + horizon <= calibration[0]]
    if train_history_days is not None:
        oldest = calibration[0] - horizon - timedelta(days=train_history_days)
        train = [d for d in train if d >= oldest]
    if not train:
        raise SplitError(
            f"no training as-of date has its label window end by {calibration[0]} "
            "(the first calibration date): add earlier dates or shorten the horizon"
        )
    return TemporalSplit(tuple(train), tuple(calibration), tuple(test), horizon_days)
