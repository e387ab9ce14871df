"""Temporal splits: no training or calibration label window reaches a later block."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.build import month_grid
from models.splits import SplitError, temporal_split

MONTHS = month_grid(date(2021, 1, 1), date(2025, 6, 1))


@given(
    dates=st.lists(st.dates(date(2019, 1, 1), date(2025, 12, 31)), min_size=3, max_size=60),
    horizon=st.integers(1, 400),
    test_from=st.dates(date(2020, 1, 1), date(2025, 12, 31)),
    calibration=st.integers(1, 4),
    history=st.one_of(st.none(), st.integers(0, 1500)),
)
def test_no_label_window_overlaps_a_later_block(
    dates: list[date], horizon: int, test_from: date, calibration: int, history: int | None
) -> None:
    try:
        split = temporal_split(dates, horizon, test_from, calibration, history)
    except SplitError:
        return
    first_calibration, first_test = split.calibration[0], split.test[0]
    assert all(split.label_end(d) <= first_calibration for d in split.train)
    assert all(split.label_end(d) <= first_test for d in split.calibration)
    assert max(split.train) < first_calibration <= max(split.calibration) < first_test
    assert set(split.train).isdisjoint(split.calibration)
    assert set(split.calibration).isdisjoint(split.test)
    assert all(d >= test_from for d in split.test)
    if history is not None:
        oldest = first_calibration - timedelta(days=horizon + history)
        assert min(split.train) >= oldest


def test_monthly_grid_with_a_180_day_horizon() -> None:
    split = temporal_split(MONTHS, 180, date(2025, 1, 1), calibration_dates=3)
    assert split.test == (
        date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1),
        date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1),
    )  # fmt: skip
    # 2024-07-05 is the last date whose 180-day window ends by 2025-01-01
    assert split.calibration == (date(2024, 5, 1), date(2024, 6, 1), date(2024, 7, 1))
    assert split.train[-1] == date(2023, 11, 1)
    assert split.train[0] == date(2021, 1, 1)
    assert split.describe()["calibration"] == "2024-05-01..2024-07-01 (3 dates)"


def test_training_history_is_bounded() -> None:
    split = temporal_split(MONTHS, 180, date(2025, 1, 1), train_history_days=365)
    # the latest possible training date is 2024-05-01 - 180 days; 365 days before it: 2022-11-03
    assert split.train[0] == date(2022, 12, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_from": date(2026, 1, 1)}, "no as-of date on or after the test start"),
        ({"test_from": date(2021, 3, 1)}, "calibration needs 3 as-of dates"),
        ({"test_from": date(2022, 1, 1)}, "no training as-of date"),
        ({"test_from": date(2025, 1, 1), "horizon_days": 0}, "horizon_days must be positive"),
    ],
)
def test_impossible_splits_say_why(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"horizon_days": 180} | kwargs
    with pytest.raises(SplitError, match=message):
        temporal_split(MONTHS, **arguments)  # type: ignore[arg-type]


def test_frames_keep_known_labels_of_each_block() -> None:
    split = temporal_split(MONTHS, 180, date(2025, 1, 1))
    table = pl.LazyFrame(
        {
            "as_of": [date(2021, 1, 1), date(2024, 6, 1), date(2025, 2, 1), date(2025, 6, 1)],
            "label": [0, 1, 1, None],
        }
    )
    train, calibration, test = (frame.collect() for frame in split.frames(table, "label"))
    assert train["as_of"].to_list() == [date(2021, 1, 1)]
    assert calibration["as_of"].to_list() == [date(2024, 6, 1)]
    assert test["as_of"].to_list() == [date(2025, 2, 1)]
