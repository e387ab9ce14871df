"""The oracle: each child's exact probability of an outcome in (D, D + horizon].

Why: the strain world is only a fair judge if we know the best any model could do on
it. Conditional on the latent state at D 00:00 -- the household's strain level in the
week containing D + 1 s, the household's type, shock multiplier and the calendar, the
child's frailty, visibility and disability, its age, and its spells in care from
removals up to D (with their drawn ends) -- the outcomes after D form a Poisson process
whose weekly rate depends only on the strain level, and strain is a Markov chain that
moves only at week boundaries and never on anything observed. So

    P(no outcome) = 1' S_K-1 M_K-1 ... S_1 M_1 S_0 e(level at D),
    S_k = diag(exp(-rate_k(level) x exposure_k)),  M_k = the ladder's move into week k,

is computed below as a forward pass over the K weeks the horizon overlaps: a vector of
survival mass over the L levels per child is moved by the ladder (``advance_mass``,
built from ``move_probs``) and multiplied by each level's survival in the week
(``outcome_rate``), the same two functions the simulation uses.

How: event times are whole seconds (floored), so an event counts for (D, D + H] when
its continuous time lies in [D + 1 s, D + H + 1 s); a week's exposure is the part of
that interval inside the week and inside the child's life before 18.
``simulate_horizon`` replays the same future by Monte Carlo, for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import DAY, WEEK, BoolArray, FloatArray, IntArray, Rng
from features.synth.latent import poisson_counts
from features.synth.oracle import away_as_of, share_of_replays
from features.worlds.strain.hazard import outcome_rate, overlap
from features.worlds.strain.ladder import (
    advance_mass,
    draw_shocks,
    jump_law,
    move_probs,
    step_levels,
)
from features.worlds.strain.params import StrainParams
from features.worlds.strain.weeks import Latent


@dataclass(frozen=True)
class HorizonState:
    """The latent state of some children at one as-of date, over the horizon's K weeks.

    Arrays are week-major: row k is the k-th week overlapping the horizon, column i the
    i-th child. ``calendar`` row k is the shock multiplier of the move into week k (row
    0 is unused: the level of week 0 is known).
    """

    child: IntArray  # (n,) child index
    as_of_s: int  # D 00:00 in seconds from start
    level0: IntArray  # (n,) household's strain level in the week containing D + 1 s
    factor: FloatArray  # (n,) time-constant part of the outcome rate
    shock_rate: FloatArray  # (n,) the household's shocks per week
    drift: FloatArray  # (n,)
    recovery: FloatArray  # (n,)
    calendar: FloatArray  # (K,)
    band: np.ndarray  # (K, n) age band
    away: BoolArray  # (K, n) in care from a removal known at D
    exposure: FloatArray  # (K, n) fraction of each week at risk inside the horizon

    def subset(self, rows: IntArray) -> HorizonState:
        """The same state for some of the children (column indices)."""
        return HorizonState(
            self.child[rows], self.as_of_s, self.level0[rows], self.factor[rows],
            self.shock_rate[rows], self.drift[rows], self.recovery[rows], self.calendar,
            self.band[:, rows], self.away[:, rows], self.exposure[:, rows],
        )  # fmt: skip


def children_at(latent: Latent, as_of_s: int) -> IntArray:
    """Children aged 0-17 at D: born on or before D, 18th birthday after D."""
    return np.flatnonzero((latent.birth_s <= as_of_s) & (as_of_s < latent.adult_s))


def horizon_state(
    latent: Latent, as_of_s: int, horizon_days: int, child: IntArray | None = None
) -> HorizonState:
    """Everything the oracle conditions on at D, for the given children (default: 0-17)."""
    child = children_at(latent, as_of_s) if child is None else child
    lo, hi = as_of_s + 1, as_of_s + horizon_days * DAY + 1
    weeks = np.arange(lo // WEEK, (hi - 1) // WEEK + 1, dtype=np.int64)
    if weeks[-1] >= latent.levels.shape[0]:
        raise ValueError("the horizon runs past the simulated weeks")
    start, end = overlap(weeks, lo, hi, latent.birth_s[child], latent.adult_s[child])
    unit = latent.unit[child]
    ladder = latent.ladder
    return HorizonState(
        child=child,
        as_of_s=as_of_s,
        level0=latent.levels[weeks[0], unit].astype(np.int64),
        factor=latent.factor[child],
        shock_rate=ladder.shock_rate[unit],
        drift=ladder.drift[unit],
        recovery=ladder.recovery[unit],
        calendar=ladder.calendar[weeks],
        band=latent.band[np.ix_(weeks, child)],
        away=away_as_of(latent, child, as_of_s, weeks),
        exposure=(end - start) / WEEK,
    )


def oracle_probability(params: StrainParams, state: HorizonState) -> FloatArray:
    """Exact P(at least one outcome in the horizon), by the forward pass over the weeks."""
    n, levels = len(state.child), np.arange(params.levels)
    mass = np.zeros((n, params.levels))
    mass[np.arange(n), state.level0] = 1.0
    law = jump_law(params)
    for k in range(len(state.calendar)):
        if k > 0:
            moves = move_probs(
                params, state.shock_rate[:, None], state.drift[:, None],
                state.recovery[:, None], state.calendar[k], levels,
            )  # fmt: skip
            moves = type(moves)(moves.shock[:, 0], moves.drift[:, 0], moves.down)
            mass = advance_mass(mass, moves, law)
        rate = outcome_rate(
            params, state.factor[:, None], state.band[k][:, None], levels,
            state.away[k][:, None],
        )  # fmt: skip
        mass *= np.exp(-rate * state.exposure[k][:, None])
    # survival can exceed 1 by rounding where no rate is positive
    return np.asarray(np.clip(1.0 - mass.sum(axis=1), 0.0, 1.0), dtype=np.float64)


def simulate_horizon(
    params: StrainParams, state: HorizonState, n_draws: int, rng: Rng, batch: int = 1_000_000
) -> FloatArray:
    """Monte Carlo: the share of ``n_draws`` replays of the future after D with an outcome.

    Each replay moves the level with ``step_levels`` and draws outcomes with
    ``poisson_counts`` from ``outcome_rate`` at the realised level, as the simulation does,
    each child's chain independent of the others'.
    """

    def replay(draws: int) -> BoolArray:
        return _replay(params, state, draws, rng)

    return share_of_replays(len(state.child), n_draws, batch, replay)


def _replay(params: StrainParams, state: HorizonState, draws: int, rng: Rng) -> BoolArray:
    def tiled(column: np.ndarray) -> np.ndarray:
        return np.tile(column, draws)

    level = tiled(state.level0)
    hit = np.zeros(len(level), dtype=np.bool_)
    for k in range(len(state.calendar)):
        if k > 0:
            moves = move_probs(
                params, tiled(state.shock_rate), tiled(state.drift), tiled(state.recovery),
                state.calendar[k], level,
            )  # fmt: skip
            u = rng.random(len(level))
            jump = np.zeros(len(level), dtype=np.int64)
            shocked = np.flatnonzero(u < moves.shock)
            jump[shocked] = draw_shocks(params, len(shocked), rng)[1]
            level = step_levels(params, level, moves, u, jump)
        rate = outcome_rate(
            params, tiled(state.factor), tiled(state.band[k]), level, tiled(state.away[k])
        )
        hit |= poisson_counts(rate * tiled(state.exposure[k]), rng.random(len(level))) > 0
    return hit
