"""Case histories as arrays: what the kernels read of children and events.

polars reads, checks and joins; this module takes the typed columns out as numpy arrays
once (no copy where the layout allows), with each event's code, times in µs, severity,
amount in thousandths and expiry under the retention policy. The batch makes them for a
shard of children, a request for one household: the same function for both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from features import schema as s
from features.config import Policy
from features.kernel import Int
from features.plan import code_of
from features.retention import expiries


@dataclass(frozen=True)
class Events:
    """Events as parallel arrays; ``row``: each event's row in the frame it came from."""

    unit: Int
    code: Int
    occurred: Int
    recorded: Int
    severity: Int  # -1 where none was recorded
    amount: Int  # thousandths, 0 where none was recorded
    expires: Int  # µs; NEVER where the event never expires
    row: Int

    @property
    def size(self) -> int:
        return int(self.code.size)

    def take(self, index: Int) -> Events:
        return Events(*(getattr(self, f.name)[index] for f in fields(self)))

    def with_units(self, unit: Int) -> Events:
        """The same events counted for other units (their households, say)."""
        return replace(self, unit=unit)


SMALL: Final = 4096  # below this many values, enum codes come from a dict, not polars


def microseconds(column: pl.Series) -> Int:
    """A datetime column in µs since 1970 (naive local time)."""
    values = column.cast(pl.Datetime("us")).to_numpy()
    return values.astype("datetime64[us]").astype(np.int64)


def enum_codes(column: pl.Series, categories: tuple[str, ...]) -> Int:
    """Each value's index in ``categories`` (-1: null; a value not among them is an error).

    A few values are looked up one by one (a polars call has a fixed cost of about a
    tenth of a millisecond, which a request would pay per column); many, by polars."""
    if column.len() < SMALL:
        index = _index(categories)
        return np.array([index[v] for v in column.to_list()], dtype=np.int64)
    physical = column.cast(pl.Enum(categories)).cat.physical().to_numpy()
    return np.where(np.isnan(physical), -1, physical).astype(np.int64)


def numbers(column: pl.Series, missing: float) -> npt.NDArray[np.float64]:
    """A numeric column as floats, ``missing`` where null."""
    values = column.to_numpy().astype(np.float64)
    return np.where(np.isnan(values), missing, values)


@cache
def _index(categories: tuple[str, ...]) -> dict[str | None, int]:
    return {None: -1, **{c: i for i, c in enumerate(categories)}}


def events_of(frame: pl.DataFrame, unit: Int, policy: Policy) -> Events:
    """The arrays of ``frame`` (typed contract columns), its events of units ``unit``."""
    code = code_of(
        enum_codes(frame[s.EVENT_TYPE], s.EVENT_TYPES),
        enum_codes(frame[s.DETAIL], s.DETAIL_CODES),
    )
    occurred = microseconds(frame[s.OCCURRED_AT])
    recorded = microseconds(frame[s.RECORDED_AT])
    return Events(
        unit=unit,
        code=code,
        occurred=occurred,
        recorded=recorded,
        severity=numbers(frame[s.SEVERITY], -1).astype(np.int64),
        amount=np.round(numbers(frame[s.AMOUNT], 0.0) * 1000).astype(np.int64),
        expires=expiries(unit, code, occurred, recorded, policy),
        row=np.arange(frame.height, dtype=np.int64),
    )
