"""The latent weekly process: a 2-state crisis chain per household and the outcome hazard.

``step_week`` is the one function that draws a week's outcome counts and moves the
chain to the next week; the full generation (``run_weeks``) and the Monte Carlo replay
of the future after an as-of date (``oracle.simulate_outcomes_from``) both call it.

Within a week the outcome rate is constant, so the number of outcome events in a week
(or in the part of it that is exposed) is Poisson(rate x exposure) and their times are
uniform within it: a Poisson process with a piecewise-constant hazard. The chain
changes state only at week boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import WEEK, BoolArray, FloatArray, IntArray, Rng
from features.synth.params import AGE_BAND_EDGE_DAYS, INACTIVE_BAND, SynthParams


@dataclass(frozen=True)
class Latent:
    """What the oracle conditions on (plus the realised chain), for one chunk.

    ``away_*`` lists every out-of-home spell: scripted ones (trigger -NEVER, known up
    front) and those caused by an emergency removal (trigger = the removal's time), each
    active in weeks whose start lies in [start, end).
    """

    unit: IntArray  # household of each child
    hh_risk: FloatArray  # family risk (drives the chain)
    static_log_rate: FloatArray  # per child: log base + risk and disability terms
    band: np.ndarray  # (W, n) int8 age band per week, INACTIVE_BAND when not 0-17
    stress: np.ndarray  # (W, n_h) float32 family stress per week
    crisis: np.ndarray  # (W, n_h) bool, realised crisis state per week
    away_child: IntArray
    away_start: IntArray
    away_end: IntArray
    away_trigger: IntArray
    birth_day: IntArray
    adult_day: IntArray


def static_log_rate(params: SynthParams, risk: FloatArray, disabled: BoolArray) -> FloatArray:
    """The time-constant part of each child's log outcome rate."""
    log_rate = (
        np.log(params.outcome_per_week)
        + params.outcome_risk_coef * risk
        + params.outcome_disability_log_rr * disabled
    )
    return np.asarray(log_rate, dtype=np.float64)


def outcome_rates(
    params: SynthParams,
    static: FloatArray,
    band: np.ndarray,
    stress: np.ndarray,
    away: np.ndarray,
) -> tuple[FloatArray, FloatArray]:
    """Outcome rate per week (calm, in crisis) for children in a given week (or weeks)."""
    age = np.array([*params.outcome_age_log_rr, -np.inf])
    log_rate = static + age[band] + params.outcome_stress_coef * stress.astype(np.float64)
    calm = np.exp(log_rate) * np.where(away, params.away_multiplier, 1.0)
    young = np.where(band <= 1, np.exp(params.crisis_young_log_rr), 1.0)
    return calm, calm * params.crisis_multiplier * young


def transition(
    params: SynthParams, hh_risk: FloatArray, stress: np.ndarray
) -> tuple[FloatArray, FloatArray]:
    """P(calm -> crisis) and P(crisis -> calm) at the start of a week with this stress."""
    s = stress.astype(np.float64)
    onset = _sigmoid(params.crisis_onset_logit + params.crisis_onset_risk * hh_risk
                     + params.crisis_onset_stress * s)  # fmt: skip
    leave = _sigmoid(params.crisis_exit_logit + params.crisis_exit_stress * s)
    return onset, leave


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def poisson_counts(mean: FloatArray, u: FloatArray) -> IntArray:
    """Poisson(mean) by inverse CDF from uniforms u: exact, and cheap when means are tiny."""
    p = np.exp(-mean)
    cdf = p.copy()
    counts = np.zeros(len(mean), dtype=np.int64)
    idx = np.flatnonzero(u >= cdf)
    k = 0
    while idx.size and k < 1000:
        k += 1
        p[idx] *= mean[idx] / k
        cdf[idx] += p[idx]
        counts[idx] = k
        idx = idx[(u[idx] >= cdf[idx]) & (p[idx] > 0)]
    return counts


def step_week(
    crisis: BoolArray,
    unit: IntArray | None,
    calm: FloatArray,
    in_crisis: FloatArray,
    exposure: FloatArray | float,
    onset_next: FloatArray,
    exit_next: FloatArray,
    rng: Rng,
) -> tuple[IntArray, BoolArray]:
    """Draw this week's outcome counts per child, then the chain's state next week.

    ``crisis`` is per chain (household; per child when ``unit`` is None); the rates and
    the exposure (fraction of the week at risk) are per child; onset/exit are the
    transition probabilities into the next week, per chain. Uniforms are drawn in a
    fixed order: one per child, then one per chain.
    """
    state = crisis if unit is None else crisis[unit]
    mean = np.where(state, in_crisis, calm) * exposure
    counts = poisson_counts(mean, rng.random(len(mean)))
    u = rng.random(len(crisis))
    following = np.where(crisis, u >= exit_next, u < onset_next)
    return counts, following


def band_matrix(birth_day: IntArray, adult_day: IntArray, n_weeks: int) -> np.ndarray:
    """(W, n) int8 age band at each week's start; INACTIVE_BAND unless the whole week is 0-17."""
    week_day = 7 * np.arange(n_weeks, dtype=np.int32)[:, None]
    age = week_day - birth_day.astype(np.int32)[None, :]
    band = np.zeros(age.shape, dtype=np.int8)
    for edge in AGE_BAND_EDGE_DAYS:
        band += age >= edge
    inactive = (age < 0) | (week_day + 7 > adult_day.astype(np.int32)[None, :])
    band[inactive] = INACTIVE_BAND
    return band


def initial_state(
    params: SynthParams, hh_risk: FloatArray, stress0: np.ndarray, rng: Rng
) -> BoolArray:
    """The chain in week 0, from the stationary law of week 0's transition."""
    onset, leave = transition(params, hh_risk, stress0)
    return np.asarray(rng.random(len(hh_risk)) < onset / (onset + leave), dtype=np.bool_)


def away_weeks(start: IntArray, end: IntArray, n_weeks: int) -> tuple[IntArray, IntArray]:
    """[first, stop) week indices whose start lies in [start, end)."""
    first = np.clip(-(-start // WEEK), 0, n_weeks)
    stop = np.clip(-(-np.minimum(end, 2**61) // WEEK), 0, n_weeks)
    return first, stop
