"""Households and children of the strain world, and every static latent they carry.

Why: the oracle conditions on everything static about a child -- its gamma frailty,
disability, its household's type, shock-rate multiplier and visibility -- so these are
drawn once, up front, and never change. How: households of 1-3 children get a district,
hukou, a type (stable, episodic or chronic, more often troubled for unregistered and
outlying families), a gamma shock multiplier, a visibility in (0, 1) (lower for
nonlocal, unregistered and outlying families) and a noise-reporter flag; each child's
frailty is a shared gamma part plus its own gamma part (a gamma of mean 1 in total).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import schema as s
from features.synth.arrays import (
    DAY,
    NEVER,
    YEAR,
    BoolArray,
    FloatArray,
    IntArray,
    Rng,
    TimeGrid,
    choice,
)
from features.synth.population import (
    ChildDays,
    adult_days,
    birth_day_range,
    draw_households,
    sibling_offsets,
)
from features.worlds.strain.params import StrainParams

HUKOU_NONE = s.HUKOU_VALUES.index("none")
STABLE, EPISODIC, CHRONIC = 0, 1, 2


@dataclass(frozen=True)
class Population(ChildDays):
    """Households (``hh_*``, indexed by ``unit``) and children, with their static latents."""

    hh_district: IntArray  # index into params.districts
    hh_area: IntArray  # 0 core, 1 inner, 2 outlying
    hh_hukou: IntArray  # index into HUKOU_VALUES
    hh_ethnicity: IntArray
    hh_id_known: BoolArray  # False: household_id is null in the export
    hh_type: IntArray  # STABLE, EPISODIC, CHRONIC
    hh_shock_mult: FloatArray  # gamma multiplier of the shock rate
    hh_visibility: FloatArray  # share of what happens that the sources see, (0, 1)
    hh_noise: BoolArray  # a reporter unrelated to strain
    unit: IntArray  # household of each child
    birth_day: IntArray  # days from start (negative: born before start)
    adult_day: IntArray  # 18th birthday, days from start
    sex: IntArray
    frailty: FloatArray  # gamma, mean 1
    disabled_at: IntArray  # certification time (s), NEVER if no disability

    @property
    def n_households(self) -> int:
        return len(self.hh_type)

    @property
    def disabled(self) -> BoolArray:
        return self.disabled_at < NEVER


def draw_population(params: StrainParams, grid: TimeGrid, n: int, rng: Rng) -> Population:
    """Households until ``n`` children, then each child's birth, sex, frailty, disability."""
    sizes, unit, district, area = draw_households(params.household_sizes, params.districts, n, rng)
    n_h = len(sizes)
    hukou = _hukou(params, area, rng)
    births = _births(params, grid, sizes, rng)
    return Population(
        hh_district=district,
        hh_area=area,
        hh_hukou=hukou,
        hh_ethnicity=choice(rng, params.ethnicity, n_h),
        hh_id_known=rng.random(n_h) >= params.null_household_share,
        hh_type=_types(params, area, hukou, rng),
        hh_shock_mult=rng.gamma(params.shock_gamma_shape, 1 / params.shock_gamma_shape, n_h),
        hh_visibility=_visibility(params, area, hukou, rng),
        hh_noise=rng.random(n_h) < params.noise_share,
        unit=unit,
        birth_day=births,
        adult_day=adult_days(grid.start, births),
        sex=choice(rng, params.sex, n),
        frailty=_frailty(params, unit, n_h, rng),
        disabled_at=_disability(params, births, rng),
    )


def _hukou(params: StrainParams, area: IntArray, rng: Rng) -> IntArray:
    cum = np.cumsum(np.array(params.hukou_by_area), axis=1)[area]
    index = (cum <= rng.random(len(area))[:, None] * cum[:, -1:]).sum(axis=1)
    return np.asarray(np.minimum(index, len(s.HUKOU_VALUES) - 1), dtype=np.int64)


def _types(params: StrainParams, area: IntArray, hukou: IntArray, rng: Rng) -> IntArray:
    """Household type: the troubled types' odds rise for unregistered and outlying families."""
    odds = np.ones(len(area))
    odds *= np.where(hukou == HUKOU_NONE, params.type_rr_no_hukou, 1.0)
    odds *= np.where(area == 2, params.type_rr_outlying, 1.0)
    shares = np.array(params.type_shares)
    weights = np.stack([np.full(len(area), shares[0]), shares[1] * odds, shares[2] * odds], 1)
    cum = np.cumsum(weights, axis=1)
    index = (cum <= rng.random(len(area))[:, None] * cum[:, -1:]).sum(axis=1)
    return np.asarray(np.minimum(index, 2), dtype=np.int64)


def _visibility(params: StrainParams, area: IntArray, hukou: IntArray, rng: Rng) -> FloatArray:
    logit = (
        params.visibility_logit
        + params.visibility_sd * rng.standard_normal(len(area))
        + np.array(params.visibility_hukou)[hukou]
        + np.array(params.visibility_area)[area]
    )
    return np.asarray(1 / (1 + np.exp(-logit)), dtype=np.float64)


def _frailty(params: StrainParams, unit: IntArray, n_h: int, rng: Rng) -> FloatArray:
    """Shared gamma + own gamma with a common scale: a gamma of mean 1 for each child."""
    shape, share = params.frailty_shape, params.frailty_shared
    shared = rng.gamma(shape * share, 1 / shape, n_h)
    own = rng.gamma(shape * (1 - share), 1 / shape, len(unit))
    return np.asarray(np.maximum(shared[unit] + own, 1e-12), dtype=np.float64)


def _disability(params: StrainParams, births: IntArray, rng: Rng) -> IntArray:
    n = len(births)
    low, high = params.disability_age_years
    age_s = ((low + (high - low) * rng.random(n)) * YEAR).astype(np.int64)
    has = rng.random(n) < params.disability
    return np.where(has, births * DAY + age_s, NEVER).astype(np.int64)


def _births(params: StrainParams, grid: TimeGrid, sizes: IntArray, rng: Rng) -> IntArray:
    """Birth days: the eldest anywhere that leaves room for the younger siblings' gaps."""
    low, high = birth_day_range(grid)
    offset = sibling_offsets(sizes, params.sibling_gap_years, rng)
    span = offset[np.cumsum(sizes) - 1]
    eldest = low + np.floor(rng.random(len(sizes)) * np.maximum(high - low - span, 1))
    return np.asarray(np.repeat(eldest.astype(np.int64), sizes) + offset, dtype=np.int64)
