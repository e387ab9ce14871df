"""The oracle: each child's true probability of an outcome in (D, D + horizon].

Conditional on the generator's latent state at D 00:00 -- the child's risk, its
household's crisis state in the week containing D, the circumstance script (future
changes included), out-of-home spells from removals up to D, and age -- the outcome
process after D is a Poisson process with a rate that is constant within each week and
depends on the crisis state, a Markov chain that moves only at week boundaries. So

    P(no outcome) = 1' [prod_k  diag(exp(-rate_k x exposure_k)) T_k+1 ] e_state(D)

computed below as a forward pass over a 2-vector of survival mass per child.

Event times are whole seconds (floored), so an event counts for (D, D + H] exactly when
its continuous time lies in [D + 1 s, D + H + 1 s): that is the interval integrated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from features.synth.arrays import DAY, WEEK, BoolArray, FloatArray, IntArray, Rng
from features.synth.latent import Latent, away_weeks, outcome_rates, step_week, transition
from features.synth.params import SynthParams


class AwaySpells(Protocol):
    """The out-of-home spells a latent state carries (ours and the strain world's alike):
    spell i is ``away_child[i]``'s, in weeks starting in [away_start, away_end), and
    known from ``away_trigger`` on."""

    @property
    def unit(self) -> IntArray: ...
    @property
    def away_child(self) -> IntArray: ...
    @property
    def away_start(self) -> IntArray: ...
    @property
    def away_end(self) -> IntArray: ...
    @property
    def away_trigger(self) -> IntArray: ...


@dataclass(frozen=True)
class HorizonState:
    """The latent state of some children at one as-of date, over the K weeks of the horizon.

    Arrays are week-major: row k is the k-th week overlapping the horizon, column i the
    i-th child; ``onset``/``leave`` in row k are the chain's transition probabilities
    into that week (row 0 is unused).
    """

    child: IntArray  # (n,) child index in the chunk
    as_of_s: int  # D 00:00 in seconds from start
    crisis0: BoolArray  # (n,) crisis state of the household in the week containing D
    calm: FloatArray  # (K, n) outcome rate per week when calm
    in_crisis: FloatArray  # (K, n) outcome rate per week in crisis
    onset: FloatArray  # (K, n)
    leave: FloatArray  # (K, n)
    exposure: FloatArray  # (K, n) fraction of each week inside the horizon

    def subset(self, rows: IntArray) -> HorizonState:
        """The same state for some of the children (column indices)."""
        return HorizonState(
            self.child[rows], self.as_of_s, self.crisis0[rows], self.calm[:, rows],
            self.in_crisis[:, rows], self.onset[:, rows], self.leave[:, rows],
            self.exposure[:, rows],
        )  # fmt: skip


def children_at(latent: Latent, as_of_s: int) -> IntArray:
    """Children aged 0-17 at D: born on or before D, 18th birthday after D."""
    day = as_of_s // DAY
    return np.flatnonzero((latent.birth_day <= day) & (day < latent.adult_day))


def horizon_state(
    params: SynthParams,
    latent: Latent,
    as_of_s: int,
    horizon_days: int,
    child: IntArray | None = None,
) -> HorizonState:
    """Everything the oracle conditions on at D, for the given children (default: 0-17)."""
    child = children_at(latent, as_of_s) if child is None else child
    weeks, exposure = _horizon_weeks(as_of_s, horizon_days * DAY, latent.band.shape[0])
    unit = latent.unit[child]
    stress = latent.stress[np.ix_(weeks, unit)]
    away = away_as_of(latent, child, as_of_s, weeks)
    band = latent.band[np.ix_(weeks, child)]
    calm, in_crisis = outcome_rates(
        params, latent.static_log_rate[child][None, :], band, stress, away
    )
    onset, leave = transition(params, latent.hh_risk[unit][None, :], stress)
    return HorizonState(
        child=child,
        as_of_s=as_of_s,
        crisis0=latent.crisis[weeks[0], unit],
        calm=calm,
        in_crisis=in_crisis,
        onset=onset,
        leave=leave,
        exposure=np.broadcast_to(exposure[:, None], calm.shape).copy(),
    )


def _horizon_weeks(as_of_s: int, horizon_s: int, n_weeks: int) -> tuple[IntArray, FloatArray]:
    """Weeks overlapping [D + 1 s, D + H + 1 s) and the fraction of each inside it."""
    lo, hi = as_of_s + 1, as_of_s + horizon_s + 1
    weeks = np.arange(lo // WEEK, (hi - 1) // WEEK + 1, dtype=np.int64)
    if weeks[-1] >= n_weeks:
        raise ValueError("the horizon runs past the simulated weeks")
    inside = np.minimum((weeks + 1) * WEEK, hi) - np.maximum(weeks * WEEK, lo)
    return weeks, inside / WEEK


def away_as_of(latent: AwaySpells, child: IntArray, as_of_s: int, weeks: IntArray) -> BoolArray:
    """(K, n) out-of-home flags from the spells known at D (scripted, or removed by D): what
    the oracle may condition on, so both generators' oracles take them from here."""
    row_of = np.full(len(latent.unit), -1, dtype=np.int64)
    row_of[child] = np.arange(len(child))
    known = (latent.away_trigger <= as_of_s) & (row_of[latent.away_child] >= 0)
    first, stop = away_weeks(latent.away_start[known], latent.away_end[known], 2**40)
    first = np.clip(first - weeks[0], 0, len(weeks))
    stop = np.clip(stop - weeks[0], 0, len(weeks))
    diff = np.zeros((len(weeks) + 1, len(child)), dtype=np.int64)
    rows = row_of[latent.away_child[known]]
    np.add.at(diff, (first, rows), 1)
    np.add.at(diff, (stop, rows), -1)
    return np.asarray(np.cumsum(diff[:-1], axis=0) > 0, dtype=np.bool_)


def oracle_probability(state: HorizonState) -> FloatArray:
    """Exact P(at least one outcome in the horizon) by the forward pass over the weeks."""
    calm_mass = (~state.crisis0).astype(np.float64)
    crisis_mass = state.crisis0.astype(np.float64)
    for k in range(state.calm.shape[0]):
        if k > 0:
            on, off = state.onset[k], state.leave[k]
            calm_mass, crisis_mass = (
                calm_mass * (1 - on) + crisis_mass * off,
                calm_mass * on + crisis_mass * (1 - off),
            )
        calm_mass = calm_mass * np.exp(-state.calm[k] * state.exposure[k])
        crisis_mass = crisis_mass * np.exp(-state.in_crisis[k] * state.exposure[k])
    # survival can exceed 1 by rounding (~1e-16) where no rate is positive
    return np.asarray(np.clip(1.0 - (calm_mass + crisis_mass), 0.0, 1.0), dtype=np.float64)


def simulate_outcomes_from(
    state: HorizonState, n_draws: int, rng: Rng, batch: int = 2_000_000
) -> FloatArray:
    """Monte Carlo: the share of n_draws replays of the future after D with an outcome.

    Each replay runs ``step_week`` (the generator's own weekly step) from the state at D
    with fresh randomness, the children's chains independent of each other.
    """
    return share_of_replays(
        len(state.child), n_draws, batch, lambda draws: _replay(state, draws, rng)
    )


def share_of_replays(
    n: int, n_draws: int, batch: int, replay: Callable[[int], BoolArray]
) -> FloatArray:
    """Per child, the share of ``n_draws`` replays with an outcome; ``replay(draws)`` runs
    ``draws`` replays of all ``n`` children at once (draw-major), about ``batch`` rows a call."""
    per_batch = max(1, batch // max(n, 1))
    hits = np.zeros(n, dtype=np.int64)
    done = 0
    while done < n_draws:
        draws = min(per_batch, n_draws - done)
        hits += replay(draws).reshape(draws, n).sum(axis=0)
        done += draws
    return np.asarray(hits / n_draws, dtype=np.float64)


def _replay(state: HorizonState, draws: int, rng: Rng) -> BoolArray:
    def tiled(column: FloatArray) -> FloatArray:
        return np.tile(column, draws)

    chain = np.tile(state.crisis0, draws)
    hit = np.zeros(len(chain), dtype=np.bool_)
    n_weeks = state.calm.shape[0]
    for k in range(n_weeks):
        nxt = min(k + 1, n_weeks - 1)
        counts, chain = step_week(
            chain,
            None,
            tiled(state.calm[k]),
            tiled(state.in_crisis[k]),
            tiled(state.exposure[k]),
            tiled(state.onset[nxt]),
            tiled(state.leave[nxt]),
            rng,
        )
        hit |= counts > 0
    return hit
