"""Column coercion: each ISO-8601 spelling reads the same on the fast and the slow path."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.contract.coerce import coerce, repeated

SPELLINGS = [
    ("2024-03-05", datetime(2024, 3, 5)),
    ("2024-03-05T10", datetime(2024, 3, 5, 10)),
    ("2024-03-05 10", datetime(2024, 3, 5, 10)),
    ("2024-03-05T10:20", datetime(2024, 3, 5, 10, 20)),
    ("2024-03-05 10:20", datetime(2024, 3, 5, 10, 20)),
    ("2024-03-05T10:20:30", datetime(2024, 3, 5, 10, 20, 30)),
    ("2024-03-05 10:20:30.250", datetime(2024, 3, 5, 10, 20, 30, 250000)),
    ("2024-03-05T10:20:30+08:00", datetime(2024, 3, 5, 10, 20, 30)),
    ("2024-03-05T02:20:30Z", datetime(2024, 3, 5, 10, 20, 30)),
    ("2024-03-05T03:20:30+0100", datetime(2024, 3, 5, 10, 20, 30)),
    # lenient but unambiguous spellings read on the slow path
    ("2024-3-5", datetime(2024, 3, 5)),
    (" 2024-03-05", datetime(2024, 3, 5)),
]


@pytest.mark.parametrize(("text", "expected"), SPELLINGS)
def test_each_spelling_alone_and_among_bad_values(text: str, expected: datetime) -> None:
    alone = coerce(pl.Series("t", [text, None]), "timestamp", "Asia/Shanghai", "f")
    assert alone.values.to_list() == [expected, None]
    assert alone.unreadable.to_list() == [False, False]
    # a bad value forces the spelling-by-spelling path: same answer, bad row marked
    mixed = coerce(pl.Series("t", [text, "05/03/2024", None]), "timestamp", "Asia/Shanghai", "f")
    assert mixed.values.to_list() == [expected, None, None]
    assert mixed.unreadable.to_list() == [False, True, False]


@pytest.mark.parametrize(
    "text", ["2024-02-30", "2024-13-05", "2024-03-05T25:00", "yesterday", "20240305", "1709600000"]
)
def test_unreadable_timestamps(text: str) -> None:
    result = coerce(pl.Series("t", [text]), "timestamp", "Asia/Shanghai", "f")
    assert result.values.to_list() == [None]
    assert result.unreadable.to_list() == [True]


def test_naive_times_in_another_zone_stay_wall_clock() -> None:
    result = coerce(
        pl.Series("t", ["2024-03-05T10:00:00", "2024-03-05T10:00:00+00:00"]),
        "timestamp",
        "Europe/London",
        "f",
    )
    assert result.values.to_list() == [datetime(2024, 3, 5, 10), datetime(2024, 3, 5, 10)]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "b", "c", "长", "ab"]))))
def test_repeated_marks_every_later_occurrence(values: list[str | None]) -> None:
    series = pl.Series("id", values, dtype=pl.String)
    seen: set[str] = set()
    expected = []
    for value in values:
        expected.append(bool(value) and value in seen)
        if value:
            seen.add(value)
    assert repeated(series).to_list() == expected
