"""The strain ladder: each household's strain level and how it moves from week to week.

Why: this is the latent process the whole world hangs on, and the oracle must follow
it exactly, so the move probabilities are defined once (``move_probs``) and used both by
the simulation (``step_levels``, one household at a time, one level each) and by the
oracle (``advance_mass``, a probability vector over all levels).

How: strain is a level 0 .. L-1 that changes only at week boundaries. Into each week,
with one uniform u per household:

- u < shock: a household shock (job loss, illness, a parent leaving, violence, ...),
  arriving as a Poisson process of rate shock_rate[type] x multiplier x calendar(week),
  lifts strain by 1-4 levels, by the shock's kind (capped at L-1);
- shock <= u < shock + drift (chronic households only): a silent +1;
- the next down(level) = recovery[type] x (1 + slope x level) of u: -1;
- else strain stays.

The moves never depend on anything observed, so the chain is Markov in the level given
the household's static type, multiplier and the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from features.synth.arrays import WEEK, FloatArray, IntArray, Rng, TimeGrid, choice
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import Population


@dataclass(frozen=True)
class Ladder:
    """Per-household ingredients of the weekly move, and the calendar of shock rates."""

    shock_rate: FloatArray  # (n_h,) shocks per week before the calendar multiplier
    drift: FloatArray  # (n_h,) P(silent +1) per week
    recovery: FloatArray  # (n_h,) recovery per week at level 0 (times 1 + slope x level)
    calendar: FloatArray  # (W,) shock-rate multiplier of each week


@dataclass(frozen=True)
class Moves:
    """Probabilities of the move into a week: a shock, a silent +1, a -1 (at some level)."""

    shock: FloatArray
    drift: FloatArray
    down: FloatArray


def build_ladder(params: StrainParams, pop: Population, grid: TimeGrid) -> Ladder:
    """The ladder's per-household rates from the household's type and shock multiplier."""
    kind = pop.hh_type
    return Ladder(
        shock_rate=np.array(params.shock_rate)[kind] * pop.hh_shock_mult,
        drift=np.array(params.drift, dtype=np.float64)[kind],
        recovery=np.array(params.recovery, dtype=np.float64)[kind],
        calendar=calendar_rr(params, grid),
    )


def calendar_rr(params: StrainParams, grid: TimeGrid) -> FloatArray:
    """(W,) the shock-rate multiplier of each week (pandemic weeks by their start)."""
    first, stop = ((date.fromisoformat(day) - grid.start).days * 86_400 for day in params.pandemic)
    week_start = np.arange(grid.n_weeks, dtype=np.int64) * WEEK
    inside = (week_start >= first) & (week_start < stop)
    return np.where(inside, params.pandemic_rr, 1.0)


def move_probs(
    params: StrainParams,
    shock_rate: FloatArray,
    drift: FloatArray,
    recovery: FloatArray,
    calendar: FloatArray | float,
    level: IntArray,
) -> Moves:
    """The move probabilities into a week; every argument broadcasts against the others.

    ``level`` is the level the household is at (the simulation) or ``arange(L)`` shaped
    to broadcast (the oracle); ``down`` follows its shape.
    """
    shock = -np.expm1(-shock_rate * calendar)
    lifted = np.asarray(drift + 0.0 * shock, dtype=np.float64)
    down = np.where(level > 0, recovery * (1 + params.recovery_slope * level), 0.0)
    down = np.minimum(down, 1.0 - shock - lifted)
    return Moves(np.asarray(shock, dtype=np.float64), lifted, np.asarray(down, np.float64))


def jump_law(params: StrainParams) -> FloatArray:
    """P(a shock lifts strain by 1, 2, 3, 4 levels), over the shock kinds."""
    share = np.array([k.share for k in params.shock_kinds])
    jumps = np.array([k.jumps for k in params.shock_kinds])
    law = (share[:, None] * jumps / jumps.sum(axis=1, keepdims=True)).sum(axis=0)
    return np.asarray(law / law.sum(), dtype=np.float64)


def draw_shocks(params: StrainParams, n: int, rng: Rng) -> tuple[IntArray, IntArray]:
    """``n`` shocks: their kind (index into params.shock_kinds) and jump (1-4 levels)."""
    kind = choice(rng, tuple(k.share for k in params.shock_kinds), n)
    jumps = np.array([k.jumps for k in params.shock_kinds])
    cum = np.cumsum(jumps / jumps.sum(axis=1, keepdims=True), axis=1)[kind]
    jump = (cum <= rng.random(n)[:, None]).sum(axis=1) + 1
    return kind, np.asarray(np.minimum(jump, jumps.shape[1]), dtype=np.int64)


def step_levels(
    params: StrainParams, level: IntArray, moves: Moves, u: FloatArray, jump: IntArray
) -> IntArray:
    """The next week's levels from uniforms ``u`` and the jumps of the shocked (u < shock).

    ``moves`` must be at ``level`` (``down`` per household); ``jump`` is read only where
    a shock happens.
    """
    shocked = u < moves.shock
    lifted = ~shocked & (u < moves.shock + moves.drift)
    fell = ~shocked & ~lifted & (u < moves.shock + moves.drift + moves.down)
    new = level + np.where(shocked, jump, 0) + lifted - fell
    return np.asarray(np.clip(new, 0, params.levels - 1), dtype=np.int64)


def advance_mass(mass: FloatArray, moves: Moves, law: FloatArray) -> FloatArray:
    """The distribution over levels after one move: ``mass`` (n, L) -> (n, L).

    ``moves.shock`` and ``moves.drift`` are (n,), ``moves.down`` (n, L); moves past the
    top level stay at the top, exactly as ``step_levels`` clips them.
    """
    shock, drift, down = moves.shock[:, None], moves.drift[:, None], moves.down
    new = mass * (1.0 - shock - drift - down)
    new[:, :-1] += mass[:, 1:] * down[:, 1:]
    lifted = mass * drift
    new[:, 1:] += lifted[:, :-1]
    new[:, -1] += lifted[:, -1]
    shocked = mass * shock
    for j, p in enumerate(law, start=1):
        new[:, j:] += shocked[:, :-j] * p
        new[:, -1] += shocked[:, -j:].sum(axis=1) * p
    return new


def initial_levels(params: StrainParams, pop: Population, rng: Rng) -> IntArray:
    """Week 0's levels: Poisson with a mean by household type, capped at the top."""
    mean = np.array(params.initial_mean)[pop.hh_type]
    return np.asarray(np.minimum(rng.poisson(mean), params.levels - 1), dtype=np.int64)
