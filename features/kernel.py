"""The feature kernels: every value for any set of children at any set of as-of dates.

Why: one implementation must serve a batch of a million children and a request for one
household alike, and cost little at both sizes. A query engine's plan costs the same for
three rows as for three million (about 100 ms per household when the features were a
polars plan); plain array code costs what its rows cost.

How: an as-of grid D_0 < ... < D_{G-1} turns each event into an interval of grid indices
over which it counts, found by binary search (``searchsorted``): from the first D on or
after its ``recorded_at`` (it was known) to the first D at or after ``occurred_at +
window`` (it has left the window) or at or after its expiry under the retention policy.
A window sum is then +v at the interval's start and -v at its end, accumulated into the
dense (unit, grid index) cells of each column by one ``bincount`` and cumulated along the
grid (difference arrays). A running status or a recency is the largest packed
``(occurrence, code)`` of the events known by each date: a maximum per cell, cumulated.
Labels are the same sums over a forward window. Every array is indexed
``column, grid index, unit``: cumulating along the grid then runs over long contiguous
rows of units (numpy is slow along a short last axis).

A recency-weighted count is not cumulated: an event's weight 2^(-age / half-life) changes
with the date, so each (event, grid index) pair of its interval gets its own weight,
summed into its cell in the order of occurrence. A cell's value then depends on that
date's events alone, not on which other dates the grid holds, and a request's single
date gets the batch's value bit for bit (carrying a sum from one date to the next, times
the decay between them, would cost less but round differently on every grid).

Units are integer codes 0..U-1 (children, or households for association features); the
caller chunks units to bound memory (cells = columns x units x dates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt

Int = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]
Values = npt.NDArray[Any]  # a column over (grid index, unit): sums as floats, maxima as ints
Bool = npt.NDArray[np.bool_]

DAY_US: Final = 86_400_000_000
NEVER: Final = np.iinfo(np.int64).max  # "never expires"
NONE: Final = -(2**62)  # "no such event yet" in running maxima (below any packed value)
CODE_BITS: Final = 16  # packed = seconds since 1900 * CODE_BITS + code
EPOCH_1900_S: Final = -2_208_988_800


@dataclass(frozen=True)
class Grid:
    """The as-of dates, ascending and distinct, as instants (D 00:00 local)."""

    dates: tuple[date, ...]

    @classmethod
    def of(cls, dates: Sequence[date]) -> Grid:
        unique = tuple(sorted(set(dates)))
        if not unique:
            raise ValueError("at least one as-of date is required")
        return cls(unique)

    @property
    def size(self) -> int:
        return len(self.dates)

    @cached_property
    def instants(self) -> Int:
        """Each date's midnight in µs since 1970 (naive local time, as events are)."""
        epoch = datetime(1970, 1, 1)
        return np.array(
            [(datetime(d.year, d.month, d.day) - epoch) // _MICROSECOND for d in self.dates],
            dtype=np.int64,
        )

    def index_of(self, instants: Int) -> Int:
        """Index of the first grid instant at or after each instant (G when none)."""
        return np.searchsorted(self.instants, instants, side="left").astype(np.int64)


_MICROSECOND: Final = datetime(1970, 1, 1, 0, 0, 0, 1) - datetime(1970, 1, 1)


def pack(occurred_us: Int, code: Int | int) -> Int:
    """(occurrence to the second, code) as one orderable integer above NONE."""
    seconds = np.clip(occurred_us // 1_000_000 - EPOCH_1900_S, 1, None)
    return seconds * CODE_BITS + code


def unpack_us(packed: Int) -> Int:
    """The occurrence of a packed value, in µs since 1970 (to the second)."""
    return (packed // CODE_BITS + EPOCH_1900_S) * 1_000_000


def packed_code(packed: Int) -> Int:
    """The code of a packed value (meaningless where the value is NONE)."""
    return packed % CODE_BITS


def interval_sums(
    columns: Int,
    units: Int,
    begin: Int,
    end: Int,
    values: Values,
    shape: tuple[int, int, int],
) -> Float:
    """Sums of ``values`` over the events whose [begin, end) holds each grid index.

    Event i adds ``values[i]`` to column ``columns[i]`` of unit ``units[i]`` at every grid
    index g with begin[i] <= g < end[i]. ``shape`` is (columns, grid size, units); the
    result has that shape, as floats, exact for integer values below 2**53.
    """
    n_columns, size, n_units = shape
    valid = (begin < end) & (begin < size) & (values != 0)
    base = columns[valid] * size
    starts = (base + begin[valid]) * n_units + units[valid]
    stops = (base + end[valid]) * n_units + units[valid]
    weights = values[valid]
    inside = end[valid] < size
    index = np.concatenate([starts, stops[inside]])
    weight = np.concatenate([weights, -weights[inside]]).astype(np.float64)
    summed = np.bincount(index, weights=weight, minlength=n_columns * size * n_units)
    return _cumulate(summed.reshape(shape), np.add)


def running_max(
    columns: Int, units: Int, begin: Int, values: Int, shape: tuple[int, int, int]
) -> Int:
    """Per column and unit, the largest value among the events known at each grid index
    (begin <= g), or NONE. ``shape`` as for ``interval_sums``."""
    n_columns, size, n_units = shape
    known = begin < size
    cells = np.full(n_columns * size * n_units, NONE, dtype=np.int64)
    index = (columns[known] * size + begin[known]) * n_units + units[known]
    np.maximum.at(cells, index, values[known])
    return _cumulate(cells.reshape(shape), np.maximum)


def _cumulate(cells: Values, ufunc: np.ufunc) -> Values:
    """Cumulate along the grid (axis 1) in place, one date at a time: each step is one
    vectorised operation over every column's units (numpy's own accumulate along a
    middle axis runs one short loop per unit, several times slower)."""
    for index in range(1, cells.shape[1]):
        ufunc(cells[:, index - 1], cells[:, index], out=cells[:, index])
    return cells


def decayed_sums(
    columns: Int,
    units: Int,
    begin: Int,
    end: Int,
    occurred: Int,
    half_life_days: Int,
    instants: Int,
    shape: tuple[int, int, int],
) -> Float:
    """Sums of 2^(-age / half-life) over the events whose [begin, end) holds each grid
    index, the age being the grid instant less ``occurred``, in days.

    Each (event, grid index) pair is weighted on its own and a cell adds its events in
    the order given (callers give them oldest first), so a cell does not depend on the
    grid's other dates. ``shape`` as for ``interval_sums``."""
    n_columns, size, n_units = shape
    event, index = spans(begin, np.minimum(end, size))
    age_days = (instants[index] - occurred[event]) / DAY_US
    weights = np.exp2(-age_days / half_life_days[event])
    cells = (columns[event] * size + index) * n_units + units[event]
    summed = np.bincount(cells, weights=weights, minlength=n_columns * size * n_units)
    sums: Float = summed.astype(np.float64, copy=False).reshape(shape)
    return sums


def window_end(grid: Grid, occurred: Int, window: int | str, expires_index: Int | None) -> Int:
    """Exclusive end index of the grid dates at which an event is still in ``window``
    (days, or "all") and not expired."""
    if window == "all":
        end = np.full(occurred.shape, grid.size, dtype=np.int64)
    else:
        end = grid.index_of(occurred + int(window) * DAY_US)
    return end if expires_index is None else np.minimum(end, expires_index)


def expand(pointers: Int, codes: Int) -> tuple[Int, Int]:
    """For events with these codes, every (event, entry) pair of a table grouped by code
    (entries pointers[c]:pointers[c+1] belong to code c): the event and entry indices."""
    return spans(pointers[codes], pointers[codes + 1])


def spans(first: Int, stop: Int) -> tuple[Int, Int]:
    """Every pair (i, j) with first[i] <= j < stop[i], by i then j: the i and the j."""
    counts = np.maximum(stop - first, 0)
    owner = np.repeat(np.arange(first.size, dtype=np.int64), counts)
    offsets = np.arange(owner.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, first[owner] + offsets
