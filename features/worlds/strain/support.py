"""Contract 1.1's support in the strain world: employment and housing support and
charities' aid.

Why: the second world must hold every kind the contract has, or a feature counting them
is constant there and the comparison across worlds says nothing about it. How: the main
generator's table of kinds and rates (``features.synth.params.default_support_kinds``),
drawn per household and week: a household registered that week (a registration or dibao
spell) draws the ``registered`` kinds; one under strain (its level above 0) draws the
``trouble`` kind (charities' medical aid), x its crisis rate ratio at the top level.
Each child at home gets the record. Support draws from its own stream and is recorded
with its source's log-normal lag from that stream (no backlog), so every other event of
the world is as it was for the same seed.
"""

from __future__ import annotations

import numpy as np

from features.synth.arrays import DAY, WEEK, EventBlock, IntArray, Rng, block
from features.synth.params import SUPPORT_YUAN, OrdinaryKind, default_support_kinds
from features.worlds.strain.home import Homes
from features.worlds.strain.params import StrainParams


def support_blocks(
    params: StrainParams,
    registered: np.ndarray,
    levels: np.ndarray,
    home: Homes,
    rng: Rng,
) -> list[EventBlock]:
    """Every support record of the world, for the children at home (not yet finalised)."""
    top = int(levels.max()) if levels.size else 0
    return [_kind_blocks(params, kind, registered, levels, top, home, rng)
            for kind in default_support_kinds()]  # fmt: skip


def _kind_blocks(
    params: StrainParams,
    kind: OrdinaryKind,
    registered: np.ndarray,
    levels: np.ndarray,
    top: int,
    home: Homes,
    rng: Rng,
) -> EventBlock:
    if kind.group == "registered":
        week, household = np.nonzero(registered)
        rate = np.full(len(week), kind.per_week)
    else:
        week, household = np.nonzero(levels > 0)
        at_top = levels[week, household] == top
        rate = kind.per_week * np.where(at_top, kind.crisis_rr, 1.0)
    hit = rng.random(len(week)) < rate
    time = week[hit] * WEEK + np.floor(rng.random(int(hit.sum())) * WEEK).astype(np.int64)
    row, child = home.members(household[hit], time)
    occurred = time[row]
    median, sigma = params.lag(kind.event_type.partition(".")[0])
    lag = median * np.exp(sigma * rng.standard_normal(len(row)))
    recorded: IntArray = occurred + np.floor(lag * DAY).astype(np.int64)
    yuan = SUPPORT_YUAN[kind.name]
    amount = None
    if yuan is not None:
        amount = np.maximum(np.round(yuan * np.exp(0.4 * rng.standard_normal(len(row))), -1), 10.0)
    return block(kind.event_type, child, occurred, recorded, amount=amount, detail=kind.detail)
