"""Case histories as arrays: what the kernels read of children and events.

polars reads, checks and joins; this module takes the typed columns out as numpy arrays
once (no copy where the layout allows), with each event's code, times in µs, severity,
amount in thousandths and expiry under the retention policy. The batch makes them for a
shard of children, a request for one household: the same function for both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
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


def microseconds(column: pl.Series) -> Int:
    """A datetime column in µs since 1970 (naive local time)."""
    return column.cast(pl.Datetime("us")).to_physical().to_numpy().astype(np.int64, copy=False)


def enum_codes(column: pl.Series, dtype: pl.Enum) -> Int:
    """The physical codes of a text or enum column in ``dtype``'s order (-1: null)."""
    return column.cast(dtype).to_physical().fill_null(-1).to_numpy().astype(np.int64)


def events_of(frame: pl.DataFrame, unit: Int, policy: Policy) -> Events:
    """The arrays of ``frame`` (typed contract columns), its events of units ``unit``."""
    code = code_of(
        enum_codes(frame[s.EVENT_TYPE], s.EVENT_TYPE_DTYPE),
        enum_codes(frame[s.DETAIL], s.DETAIL_DTYPE),
    )
    occurred = microseconds(frame[s.OCCURRED_AT])
    recorded = microseconds(frame[s.RECORDED_AT])
    amount = frame[s.AMOUNT].cast(pl.Float64).fill_null(0.0).to_numpy()
    return Events(
        unit=unit,
        code=code,
        occurred=occurred,
        recorded=recorded,
        severity=frame[s.SEVERITY].cast(pl.Int64).fill_null(-1).to_numpy(),
        amount=np.round(amount * 1000).astype(np.int64),
        expires=expiries(unit, code, occurred, recorded, policy),
        row=np.arange(frame.height, dtype=np.int64),
    )
