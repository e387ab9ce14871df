"""One plan run over a set of units: every internal column at every grid index.

``Bounds`` holds each event's grid interval per window (the same bounds the evidence
reads, features.evidence); ``compute`` turns them into the dense (unit, grid index)
values of every summed, recency-weighted and running column, the cohort's inputs and the
label's count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from features.config import Window
from features.events import Events
from features.kernel import (
    DAY_US,
    Float,
    Grid,
    Int,
    decayed_sums,
    expand,
    interval_sums,
    pack,
    running_max,
    window_end,
)
from features.plan import AMOUNT, NOT_IN, PACK_SEVERITY, SEVERITY_AT_LEAST, Plan, Running, Sums


@dataclass(frozen=True)
class Bounds:
    """Each event's first grid index where it is known, and per window the exclusive end
    where it has left the window or expired."""

    start: Int
    ends: dict[Window, Int]

    @classmethod
    def of(cls, events: Events, grid: Grid, windows: Iterable[Window]) -> Bounds:
        expires_at = grid.index_of(events.expires)
        ends = {w: window_end(grid, events.occurred, w, expires_at) for w in set(windows)}
        return cls(grid.index_of(events.recorded), ends)


@dataclass(frozen=True)
class Internal:
    """The kernels' columns over (grid index, unit): ``sums`` in ``plan.sums.names``
    order, ``decayed`` in ``plan.decayed.names`` order, ``running`` in
    ``plan.running.names`` order, and the cohort's and label's."""

    sums: Float
    decayed: Float
    running: Int
    placed: Int
    any_event: Float
    outcomes: Float


def compute(
    plan: Plan, events: Events, units: int, grid: Grid, bounds: Bounds | None = None
) -> Internal:
    """Every internal column of ``plan`` for units 0..units-1; ``bounds``: the events'
    (``Bounds.of(events, grid, plan.windows)`` when not given)."""
    bounds = bounds or Bounds.of(events, grid, plan.windows)
    everything = np.zeros(events.size, np.int64)
    never = np.full(events.size, grid.size)
    return Internal(
        sums=summed(plan.sums, events, bounds, units, grid.size),
        decayed=decayed(plan.decayed, events, bounds, units, grid),
        running=running(plan.running, events, bounds, units, grid),
        placed=running(plan.placed, events, bounds, units, grid)[0],
        any_event=_sums(everything, events.unit, bounds.start, never, 1, units, grid),
        outcomes=outcomes(plan, events, units, grid),
    )


def household_totals(plan: Plan, events: Events, households: int, grid: Grid) -> Float:
    """The association sources' sums per household (``events.unit``: the household), in
    ``plan.household.names`` order."""
    assert plan.household is not None
    bounds = Bounds.of(events, grid, plan.household.windows)
    return summed(plan.household, events, bounds, households, grid.size)


def summed(sums: Sums, events: Events, bounds: Bounds, units: int, size: int) -> Float:
    """The summed columns, (columns, grid size, units): integers, held as floats."""
    event, entry = expand(sums.pointers, events.code)
    kind = sums.kind[entry]
    at_least = events.severity[event] >= sums.level[entry]
    value = np.where(kind == AMOUNT, events.amount[event], 1)
    value = np.where(kind == SEVERITY_AT_LEAST, at_least, value)
    shape = (len(sums.names), size, units)
    ends = np.stack([bounds.ends[window] for window in sums.windows])
    end = ends[sums.window[entry], event]
    column, unit = sums.column[entry], events.unit[event]
    return interval_sums(column, unit, bounds.start[event], end, value, shape)


def decayed(table: Sums, events: Events, bounds: Bounds, units: int, grid: Grid) -> Float:
    """The recency-weighted counts, (columns, grid size, units): each event known by a
    date and not expired there weighs 2^(-age / half-life) (``table.level``: the
    half-life in days). Events are summed oldest first, whatever their order in the frame
    (a request's frame and the batch's may differ), so both get the same value."""
    event, entry = expand(table.pointers, events.code)
    oldest_first = np.argsort(events.occurred[event], kind="stable")
    event, entry = event[oldest_first], entry[oldest_first]
    shape = (len(table.names), grid.size, units)
    start, end = bounds.start[event], bounds.ends["all"][event]
    unit, occurred = events.unit[event], events.occurred[event]
    return decayed_sums(
        table.column[entry], unit, start, end, occurred, table.level[entry], grid.instants, shape
    )


def running(columns: Running, events: Events, bounds: Bounds, units: int, grid: Grid) -> Int:
    """The running maxima, (columns, grid size, units), NONE before any event."""
    code = columns.table[:, events.code]  # (columns, events)
    column, event = np.nonzero(code != NOT_IN)
    code = code[column, event]
    code = np.where(code == PACK_SEVERITY, np.maximum(events.severity[event], 0), code)
    values = pack(events.occurred[event], code)
    shape = (len(columns.names), grid.size, units)
    return running_max(column, events.unit[event], bounds.start[event], values, shape)


def outcomes(plan: Plan, events: Events, units: int, grid: Grid) -> Float:
    """Outcomes in the label's window after each date, (grid size, units): an outcome
    occurring at t counts for the dates D with D < t <= D + horizon."""
    chosen = np.flatnonzero(events.severity >= plan.outcome_threshold[events.code])
    occurred = events.occurred[chosen]
    horizon = plan.config.label.horizon_days * DAY_US
    begin, end = grid.index_of(occurred - horizon), grid.index_of(occurred)
    zeros = np.zeros(chosen.size, np.int64)
    return _sums(zeros, events.unit[chosen], begin, end, 1, units, grid)


def _sums(
    column: Int, unit: Int, begin: Int, end: Int, value: int, units: int, grid: Grid
) -> Float:
    ones = np.full(column.size, value, dtype=np.int64)
    sums: Float = interval_sums(column, unit, begin, end, ones, (1, grid.size, units))[0]
    return sums
