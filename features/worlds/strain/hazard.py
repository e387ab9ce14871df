"""The outcome hazard: how a child's strain, age and frailty make an urgent intervention.

Why: the oracle and the simulation must use one and the same rate, so it is defined
here once (``outcome_rate``) and called by both. How: within a week the rate is
constant, so a child's outcomes form a Poisson process with a piecewise-constant
hazard over the part of the week it is alive and under 18:

    rate = base x frailty x visibility**power x disability_rr**disabled
           x age_rr[band] x f(band, strain)          at home
           x age_rr[band] x away_level                in care after a removal (or adopted)

    f(band, s) = floor + (1 - floor) x logistic(steepness x (s - threshold[band]))

so f is near zero below a band's threshold and climbs steeply above it: a threshold in
the latent strain, not a multiplier on a count. The age effect is U-shaped (infants and
teenagers), and infants' threshold is lowest.
"""

from __future__ import annotations

import numpy as np

from features.synth.arrays import WEEK, FloatArray, IntArray, Rng
from features.worlds.strain.params import BAND_EDGE_YEARS, INACTIVE, N_BANDS, StrainParams
from features.worlds.strain.population import Population

BAND_EDGE_DAYS = tuple(round(years * 365.25) for years in BAND_EDGE_YEARS)


def child_factor(params: StrainParams, pop: Population) -> FloatArray:
    """(n,) the time-constant part of each child's rate."""
    vis = pop.hh_visibility[pop.unit] ** params.visibility_power
    disabled = np.where(pop.disabled, params.disability_rr, 1.0)
    return np.asarray(params.outcome_per_week * pop.frailty * vis * disabled, dtype=np.float64)


def level_curve(params: StrainParams) -> FloatArray:
    """(N_BANDS + 1, L) f(band, strain); the inactive band's row is zero."""
    level = np.arange(params.levels)
    curve = np.zeros((N_BANDS + 1, params.levels))
    for band in range(N_BANDS):
        logistic = 1 / (1 + np.exp(-params.steepness * (level - params.threshold[band])))
        curve[band] = params.floor + (1 - params.floor) * logistic
    return curve


def outcome_rate(
    params: StrainParams,
    factor: FloatArray,
    band: np.ndarray,
    level: IntArray,
    away: np.ndarray,
) -> FloatArray:
    """The outcome rate per week; arguments broadcast together (the oracle passes every
    level at once as ``arange(L)``, the simulation each child's level)."""
    age = np.array([*params.age_rr, 0.0])[band]
    strain = np.where(away, params.away_level, level_curve(params)[band, level])
    return np.asarray(factor * age * strain, dtype=np.float64)


def band_matrix(birth_day: IntArray, adult_day: IntArray, n_weeks: int) -> np.ndarray:
    """(W, n) int8 age band of each week: by the age at the week's start (at birth in the
    week of birth); INACTIVE where the week does not overlap [birth, 18th birthday)."""
    week_day = 7 * np.arange(n_weeks, dtype=np.int64)[:, None]
    age = np.maximum(week_day - birth_day[None, :], 0)
    band = np.zeros(age.shape, dtype=np.int8)
    for edge in BAND_EDGE_DAYS:
        band += age >= edge
    alive = (week_day + 7 > birth_day[None, :]) & (week_day < adult_day[None, :])
    band[~alive] = INACTIVE
    return band


def overlap(
    weeks: IntArray, lo: IntArray | int, hi: IntArray | int, first: IntArray, stop: IntArray
) -> tuple[IntArray, IntArray]:
    """Per week (rows) and child (columns): the interval [start, end) of seconds of the week
    inside [lo, hi) and the child's life [first, stop); empty where end <= start."""
    week_lo = weeks[:, None] * WEEK
    start = np.maximum(np.maximum(week_lo, lo), first[None, :])
    end = np.minimum(np.minimum(week_lo + WEEK, hi), stop[None, :])
    return start, np.maximum(end, start)


def place(start: IntArray, end: IntArray, counts: IntArray, rng: Rng) -> tuple[IntArray, IntArray]:
    """Rows repeated by ``counts`` and a uniform whole second in each row's [start, end)."""
    row = np.repeat(np.arange(len(counts)), counts)
    width = (end - start)[row]
    time = start[row] + np.floor(rng.random(len(row)) * width).astype(np.int64)
    return row, np.asarray(time, dtype=np.int64)
