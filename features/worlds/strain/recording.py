"""When events reach the source systems: heavy-tailed lags, backlogs, the export cut.

Why: a model can lean on how fast things get recorded, and our own generator's delays
are short and bounded; here they are log-normal per source (a few events months late),
and each source in each district has backlog periods in which everything occurring is
recorded at least ``backlog_late_days`` late. Outcome events and what is tied to them
are recorded within days, never in a backlog, and whatever of them happened by the
export is in it (the export waits for urgent records: the last oracle horizon ends
three days before it), so the realised labels count every outcome the oracle does.

How: ``Recorder.at`` draws recorded_at for events as they are made (follow-ups can then
start from a report's recorded time); ``finalise`` drops what the export cannot hold
(recorded after the export, or occurred from the 18th birthday on) and sorts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import (
    DAY,
    WEEK,
    YEAR,
    EventBlock,
    IntArray,
    Rng,
    TimeGrid,
    concat_blocks,
)
from features.worlds.strain.params import StrainParams

BACKLOGGED = (
    "report", "police", "community", "status", "registration", "social_aid", "education",
    "health", "disability",
)  # fmt: skip
BACKLOG_EXTRA = (10.0, 0.7)  # median days and sigma of the lag beyond the backlog minimum


@dataclass(frozen=True)
class Recorder:
    """Draws recorded_at: ``backlog`` is (source, district, week) -> in a backlog."""

    params: StrainParams
    backlog: np.ndarray  # (len(BACKLOGGED), n_districts, W) bool
    district: IntArray  # (n,) district of each child
    export_s: int
    rng: Rng

    def at(
        self, source: str, child: IntArray, occurred: IntArray, urgent: bool = False
    ) -> IntArray:
        """recorded_at (s) of events of ``source``; urgent ones within urgent_max_days."""
        median, sigma = self.params.lag(source)
        days = median * np.exp(sigma * self.rng.standard_normal(len(child)))
        if urgent:
            days = np.minimum(days, self.params.urgent_max_days)
        elif source in BACKLOGGED:
            days = np.maximum(days, self._backlog_days(source, child, occurred))
        recorded = occurred + np.floor(days * DAY).astype(np.int64)
        return self.in_export(occurred, recorded) if urgent else recorded

    def in_export(self, occurred: IntArray, recorded: IntArray) -> IntArray:
        """Urgent records of what happened by the export are in it."""
        inside = occurred <= self.export_s
        return np.where(inside, np.minimum(recorded, self.export_s), recorded).astype(np.int64)

    def _backlog_days(self, source: str, child: IntArray, occurred: IntArray) -> np.ndarray:
        table = self.backlog[BACKLOGGED.index(source)]
        week = np.clip(occurred // WEEK, 0, table.shape[1] - 1)
        inside = table[self.district[child], week]
        median, sigma = BACKLOG_EXTRA
        late = self.params.backlog_late_days + median * np.exp(
            sigma * self.rng.standard_normal(len(child))
        )
        return np.where(inside, late, 0.0)


def recorder(params: StrainParams, grid: TimeGrid, district: IntArray, rng: Rng) -> Recorder:
    """A recorder with backlog periods drawn for every source and district."""
    n_districts = len(params.districts)
    table = np.zeros((len(BACKLOGGED), n_districts, grid.n_weeks), dtype=np.bool_)
    years = grid.export_s / YEAR
    low, high = params.backlog_days
    for src in range(len(BACKLOGGED)):
        for d in range(n_districts):
            for _ in range(rng.poisson(params.backlog_per_year * years)):
                first = int(rng.random() * grid.n_weeks)
                weeks = int((low + (high - low) * rng.random()) / 7)
                table[src, d, first : first + max(weeks, 1)] = True
    return Recorder(params, table, district, grid.export_s, rng)


def finalise(
    grid: TimeGrid, blocks: list[EventBlock], birth_s: IntArray, adult_s: IntArray
) -> EventBlock:
    """Every event the export holds, sorted by child, time, type and detail."""
    events = concat_blocks(blocks)
    child = events.child
    keep = (
        (events.recorded <= grid.export_s)
        & (events.occurred >= np.maximum(birth_s[child], 0))
        & (events.occurred < adult_s[child])
    )
    pick = np.flatnonzero(keep)
    order = np.lexsort(
        (events.detail[pick], events.etype[pick], events.occurred[pick], child[pick])
    )
    pick = pick[order]
    return EventBlock(
        child=child[pick],
        etype=events.etype[pick],
        occurred=events.occurred[pick],
        recorded=events.recorded[pick],
        severity=events.severity[pick],
        amount=events.amount[pick],
        detail=events.detail[pick],
        tail=events.tail[pick],
    )
