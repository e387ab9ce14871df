"""Children and their households: districts, hukou, births, sex, and the latent risk.

One chunk of children is drawn as whole households (the last one cut to fit), so a
household never straddles two chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from features import schema as s
from features.deployment import BEIJING_DISTRICTS
from features.synth.arrays import (
    DAY,
    YEAR,
    BoolArray,
    FloatArray,
    IntArray,
    Rng,
    TimeGrid,
    choice,
)
from features.synth.params import SynthParams

AREA_INDEX = {"core": 0, "inner": 1, "outlying": 2}
HUKOU_NONE = s.HUKOU_VALUES.index("none")
HUKOU_UNKNOWN = s.HUKOU_VALUES.index("unknown")


class ChildDays:
    """The times both generators derive from each child's household, birth and 18th
    birthday (a base of their ``Population`` dataclasses, which hold the fields)."""

    unit: IntArray  # household of each child
    birth_day: IntArray  # days from start (negative: born before start)
    adult_day: IntArray  # 18th birthday, days from start

    @property
    def n_children(self) -> int:
        return len(self.unit)

    @property
    def birth_s(self) -> IntArray:
        return self.birth_day * DAY

    @property
    def adult_s(self) -> IntArray:
        return self.adult_day * DAY


@dataclass(frozen=True)
class Population(ChildDays):
    """One chunk: households (``hh_*``, indexed by ``unit``) and children."""

    hh_risk: FloatArray  # latent family risk, N(0, 1)
    hh_district: IntArray  # index into params.districts
    hh_area: IntArray  # 0 core, 1 inner, 2 outlying
    hh_hukou: IntArray  # index into HUKOU_VALUES
    hh_ethnicity: IntArray  # index into ETHNICITY_VALUES
    hh_id_known: BoolArray  # False: household_id is null in the export
    hh_abandoned: BoolArray  # the household is an abandoned infant alone
    unit: IntArray  # household of each child
    birth_day: IntArray  # days from start (negative: born before start)
    adult_day: IntArray  # 18th birthday, days from start
    sex: IntArray  # index into SEX_VALUES
    risk: FloatArray  # latent child risk (mix of family risk and own noise)

    @property
    def n_households(self) -> int:
        return len(self.hh_risk)

    @property
    def abandoned(self) -> BoolArray:
        return self.hh_abandoned[self.unit]


def birth_day_range(grid: TimeGrid) -> tuple[int, int]:
    """[low, high) of birth days: 0-17 at some point of the window, at most 25 at export."""
    low = _add_years(grid.start, -18).toordinal() + 1
    oldest = _add_years(grid.end, -25).toordinal()
    start = grid.start.toordinal()
    return max(low, oldest) - start, grid.export_s // DAY


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def draw_population(params: SynthParams, grid: TimeGrid, n: int, rng: Rng) -> Population:
    """Households until n children, then each child's birth, sex and risk."""
    sizes, unit, district, area = draw_households(params.household_sizes, params.districts, n, rng)
    n_h = len(sizes)
    hukou = _hukou(params, area, rng)
    births = _births(params, grid, sizes, rng)
    share = params.family_risk_share
    hh_risk = rng.standard_normal(n_h)
    risk = share * hh_risk[unit] + np.sqrt(1 - share**2) * rng.standard_normal(n)
    abandoned = _abandoned(params, sizes, births[np.cumsum(sizes) - 1], rng)
    hukou[abandoned] = np.where(rng.random(int(abandoned.sum())) < 0.7, HUKOU_NONE, HUKOU_UNKNOWN)
    return Population(
        hh_risk=hh_risk,
        hh_district=district,
        hh_area=area,
        hh_hukou=hukou,
        hh_ethnicity=choice(rng, params.ethnicity, n_h),
        hh_id_known=(rng.random(n_h) >= params.null_household_share) & ~abandoned,
        hh_abandoned=abandoned,
        unit=unit,
        birth_day=births,
        adult_day=adult_days(grid.start, births),
        sex=choice(rng, params.sex, n),
        risk=risk,
    )


def draw_households(
    weights: tuple[float, ...], districts: tuple[tuple[str, float], ...], n: int, rng: Rng
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Households for ``n`` children: their sizes, each child's household (``unit``), and
    each household's district (index into ``districts``) and area; both generators start so."""
    sizes = household_sizes(weights, n, rng)
    unit = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    district = choice(rng, tuple(w for _, w in districts), len(sizes))
    return sizes, unit, district, district_areas(districts)[district]


def household_sizes(weights: tuple[float, ...], n: int, rng: Rng) -> IntArray:
    """Household sizes (1, 2, 3... by ``weights``) adding up to ``n`` children, the last
    household cut to fit."""
    sizes = choice(rng, weights, n) + 1  # at least as many as needed
    ends = np.cumsum(sizes)
    n_h = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:n_h]
    sizes[-1] -= int(ends[n_h - 1]) - n
    return sizes


def district_areas(districts: tuple[tuple[str, float], ...]) -> IntArray:
    """Area index (AREA_INDEX: core, inner, outlying) of each (name, weight) district."""
    for name, _ in districts:
        if name not in BEIJING_DISTRICTS:
            raise ValueError(f"district {name!r} is not one of Beijing's 16 districts")
    return np.array([AREA_INDEX[BEIJING_DISTRICTS[name]] for name, _ in districts])


def _hukou(params: SynthParams, area: IntArray, rng: Rng) -> IntArray:
    mixes = (params.hukou_core, params.hukou_inner, params.hukou_outlying)
    cum = np.cumsum(np.array(mixes), axis=1)[area]
    index = (cum <= rng.random(len(area))[:, None]).sum(axis=1)
    return np.asarray(np.minimum(index, 3), dtype=np.int64)


def _births(params: SynthParams, grid: TimeGrid, sizes: IntArray, rng: Rng) -> IntArray:
    """Birth days; siblings are spaced by sibling_gap_years, all inside the valid range."""
    low, high = birth_day_range(grid)
    offset = sibling_offsets(sizes, params.sibling_gap_years, rng)
    first = np.repeat(rng.integers(low, high, len(sizes)), sizes)
    direction = np.repeat(np.where(rng.random(len(sizes)) < 0.5, 1, -1), sizes)
    births = first + direction * offset
    flip = (births < low) | (births >= high)
    births[flip] = first[flip] - direction[flip] * offset[flip]
    outside = (births < low) | (births >= high)
    births[outside] = rng.integers(low, high, int(outside.sum()))
    return np.asarray(births, dtype=np.int64)


def sibling_offsets(sizes: IntArray, gap_years: tuple[float, float], rng: Rng) -> IntArray:
    """Days from each household's first child to each child, siblings spaced by a uniform
    gap in ``gap_years`` (0 for the first child): one uniform per child, in child order."""
    first = np.cumsum(sizes) - sizes
    gap_low, gap_high = gap_years
    gaps = (gap_low + (gap_high - gap_low) * rng.random(int(sizes.sum()))) * (YEAR / DAY)
    gaps[first] = 0.0
    total = np.cumsum(gaps)
    return np.asarray(np.round(total - np.repeat(total[first], sizes)), dtype=np.int64)


def _abandoned(params: SynthParams, sizes: IntArray, last_birth: IntArray, rng: Rng) -> BoolArray:
    """Single-child households whose infant, born in the window, is abandoned."""
    chosen = (sizes == 1) & (last_birth >= 0) & (rng.random(len(sizes)) < params.abandoned)
    return np.asarray(chosen, dtype=np.bool_)


def adult_days(start: date, births: IntArray) -> IntArray:
    """18th birthdays in days from start (29 February -> 1 March), for both generators."""
    origin = np.datetime64(start, "D")
    born = origin + births.astype("timedelta64[D]")
    year = born.astype("datetime64[Y]")
    month = born.astype("datetime64[M]")
    day_in_month = (born - month.astype("datetime64[D]")).astype(np.int64)
    month_in_year = (month - year.astype("datetime64[M]")).astype(np.int64)
    adult_month = (year + 18).astype("datetime64[M]") + month_in_year.astype("timedelta64[M]")
    adult = adult_month.astype("datetime64[D]") + day_in_month.astype("timedelta64[D]")
    return np.asarray((adult - origin).astype(np.int64), dtype=np.int64)
