"""Contract 1.1's support: employment and housing support, and charities' aid.

Support is drawn like the ordinary events (``features.synth.ordinary``: one weekly rate per
child and kind), from the run's own ``support`` stream and finalised on its own, so adding
it left every event of contract 1.0 exactly as it was for the same seed. Its rates follow
the latent state: a child registered left-behind or unattended, or whose family is on
dibao, is the one who gets support; charities' medical aid follows a family's trouble.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from features.synth.arrays import EventBlock, FloatArray, Rng, TimeGrid, block, concat_blocks
from features.synth.latent import Latent
from features.synth.ordinary import draw_ordinary, kind_rows
from features.synth.params import SUPPORT_YUAN, SynthParams
from features.synth.population import Population
from features.synth.recording import delay, finalise


def support_events(
    params: SynthParams,
    grid: TimeGrid,
    pop: Population,
    latent: Latent,
    registered: np.ndarray,
    rng: Rng,
) -> EventBlock:
    """Every support event of a chunk, finalised (recorded, cut at the export and at 18)."""
    if not params.support_kinds:  # a run without them: no draws at all
        none = np.zeros(0, dtype=np.int64)
        return finalise(
            params, grid, [block("philanthropy.aid", none, none, none)], pop.adult_s, rng
        )
    drawn = replace(params, ordinary_kinds=params.support_kinds)
    hits = draw_ordinary(drawn, pop, latent, registered, rng)
    blocks = []
    for kind in params.support_kinds:
        rows = kind_rows(drawn, hits, kind.name)
        source = kind.event_type.partition(".")[0]
        median = SUPPORT_YUAN[kind.name]
        amount = None if median is None else _yuan(median, params, len(rows), rng)
        time = hits.time[rows]
        recorded = time + delay(params, source, len(rows), rng)
        blocks.append(
            block(kind.event_type, hits.child[rows], time, recorded, amount=amount,
                  detail=kind.detail)
        )  # fmt: skip
    return finalise(params, grid, blocks, pop.adult_s, rng)


def _yuan(median: float, params: SynthParams, n: int, rng: Rng) -> FloatArray:
    """Amounts in yuan: log-normal around ``median``, rounded to 10 yuan."""
    yuan = median * np.exp(params.support_yuan_sigma * rng.standard_normal(n))
    return np.asarray(np.maximum(np.round(yuan / 10) * 10, 10.0), dtype=np.float64)


def merged(events: EventBlock, support: EventBlock) -> EventBlock:
    """Both finalised blocks as one, in finalise's order (child, time, type, detail)."""
    both = concat_blocks([events, support])
    order = np.lexsort((both.detail, both.etype, both.occurred, both.child))
    return EventBlock(**{f.name: getattr(both, f.name)[order] for f in fields(EventBlock)})
