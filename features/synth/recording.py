"""When events reach the source systems: delays per source, late tails, back-filling.

Every event gets recorded_at >= occurred_at. A few percent of ordinary events are
entered very late (tail); events that happened before start are back-filled after
start, when the systems went live; whatever is recorded after the export instant is
not in the export.
"""

from __future__ import annotations

import numpy as np

from features.synth.arrays import DAY, EventBlock, IntArray, Rng, TimeGrid, concat_blocks
from features.synth.params import SynthParams


def delay(params: SynthParams, source: str, n: int, rng: Rng) -> IntArray:
    """Recording delays in seconds: low + (high - low) u^2 days, skewed to short."""
    low, high = params.delay_range(source)
    return np.floor((low + (high - low) * rng.random(n) ** 2) * DAY).astype(np.int64)


def uniform_s(low_days: float, high_days: float, n: int, rng: Rng) -> IntArray:
    """Uniform durations in seconds between low_days and high_days."""
    return np.floor((low_days + (high_days - low_days) * rng.random(n)) * DAY).astype(np.int64)


def finalise(
    params: SynthParams, grid: TimeGrid, blocks: list[EventBlock], adult_s: IntArray, rng: Rng
) -> EventBlock:
    """Apply late tails and back-filling, drop what the export cannot hold or what happens
    from a child's 18th birthday on, and sort by child, time and type."""
    events = concat_blocks(blocks)
    n = len(events)
    late = events.tail & (rng.random(n) < params.tail_share)
    low, high = params.tail_days
    recorded = np.where(
        late, events.occurred + uniform_s(low, high, n, rng), events.recorded
    ).astype(np.int64)
    backfill = uniform_s(0.0, params.backfill_days, n, rng)
    recorded = np.where(events.occurred < 0, np.maximum(recorded, backfill), recorded)
    recorded = np.maximum(recorded, events.occurred)
    keep = (recorded <= grid.export_s) & (events.occurred < adult_s[events.child])
    order = np.lexsort(
        (events.detail[keep], events.etype[keep], events.occurred[keep], events.child[keep])
    )
    pick = np.flatnonzero(keep)[order]
    return EventBlock(
        child=events.child[pick],
        etype=events.etype[pick],
        occurred=events.occurred[pick],
        recorded=recorded[pick],
        severity=events.severity[pick],
        amount=events.amount[pick],
        detail=events.detail[pick],
        tail=events.tail[pick],
    )
