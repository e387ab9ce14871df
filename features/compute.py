"""One plan run over a set of units: every internal column at every grid index.

``Bounds`` holds each event's grid interval per window (the same bounds the evidence
reads, features.evidence); ``compute`` turns them into the dense (unit, grid index)
values of every summed and running column, the cohort's inputs and the label's count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from features.config import Window
from features.events import Events
from features.kernel import DAY_US, Grid, Int, expand, interval_sums, pack, running_max, window_end
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


def compute(plan: Plan, events: Events, units: int, grid: Grid) -> dict[str, Int]:
    """Every internal column of ``plan`` for units 0..units-1, each (units, grid size)."""
    bounds = Bounds.of(events, grid, (group.window for group in plan.sums))
    values: dict[str, Int] = {}
    for group in plan.sums:
        values.update(
            zip(group.names, summed(group, events, bounds, units, grid.size), strict=True)
        )
    values.update(
        zip(plan.running.names, running(plan.running, events, bounds, units, grid), strict=True)
    )
    values["__placed"] = running(plan.placed, events, bounds, units, grid)[0]
    everything = np.zeros(events.size, np.int64)
    values["__any_event"] = _sums(
        everything, events.unit, bounds.start, np.full(events.size, grid.size), 1, units, grid
    )
    values["__outcomes"] = outcomes(plan, events, units, grid)
    return values


def household_totals(plan: Plan, events: Events, households: int, grid: Grid) -> dict[str, Int]:
    """The association sources' sums per household (``events.unit``: the household)."""
    bounds = Bounds.of(events, grid, (group.window for group in plan.household))
    totals: dict[str, Int] = {}
    for group in plan.household:
        totals.update(
            zip(group.names, summed(group, events, bounds, households, grid.size), strict=True)
        )
    return totals


def summed(sums: Sums, events: Events, bounds: Bounds, units: int, size: int) -> Int:
    """The group's columns, (columns, units, grid size), as exact integers."""
    event, entry = expand(sums.pointers, events.code)
    kind = sums.kind[entry]
    at_least = events.severity[event] >= sums.level[entry]
    value = np.where(kind == AMOUNT, events.amount[event], 1)
    value = np.where(kind == SEVERITY_AT_LEAST, at_least, value)
    shape = (len(sums.names), units, size)
    end = bounds.ends[sums.window][event]
    column, unit = sums.column[entry], events.unit[event]
    totals = interval_sums(column, unit, bounds.start[event], end, value, shape)
    return totals.astype(np.int64)


def running(columns: Running, events: Events, bounds: Bounds, units: int, grid: Grid) -> Int:
    """The running maxima, (columns, units, grid size), NONE before any event."""
    code = columns.table[:, events.code]  # (columns, events)
    column, event = np.nonzero(code != NOT_IN)
    code = code[column, event]
    code = np.where(code == PACK_SEVERITY, np.maximum(events.severity[event], 0), code)
    values = pack(events.occurred[event], code)
    shape = (len(columns.names), units, grid.size)
    return running_max(column, events.unit[event], bounds.start[event], values, shape)


def outcomes(plan: Plan, events: Events, units: int, grid: Grid) -> Int:
    """Outcomes in the label's window after each date, (units, grid size): an outcome
    occurring at t counts for the dates D with D < t <= D + horizon."""
    chosen = np.flatnonzero(events.severity >= plan.outcome_threshold[events.code])
    occurred = events.occurred[chosen]
    horizon = plan.config.label.horizon_days * DAY_US
    begin, end = grid.index_of(occurred - horizon), grid.index_of(occurred)
    zeros = np.zeros(chosen.size, np.int64)
    return _sums(zeros, events.unit[chosen], begin, end, 1, units, grid)


def _sums(column: Int, unit: Int, begin: Int, end: Int, value: int, units: int, grid: Grid) -> Int:
    ones = np.full(column.size, value, dtype=np.int64)
    sums = interval_sums(column, unit, begin, end, ones, (1, units, grid.size))
    counts: Int = sums[0].astype(np.int64)
    return counts
