"""School careers: enrolment at the right ages, absences per term, dropouts.

Kindergarten at 3, primary at 6, (junior) secondary at 12, then at 15 (senior)
secondary, vocational school or nothing; the school year starts on 1 September and a
child enters the year in which it has turned the age by 31 August. An enrolment that
began before start is back-filled when it was still the child's school at start.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from features.synth.arrays import (
    DAY,
    NEVER,
    WEEK,
    BoolArray,
    EventBlock,
    IntArray,
    Rng,
    TimeGrid,
    block,
)
from features.synth.latent import Latent
from features.synth.ordinary import reporting_bias
from features.synth.ordinary_events import first_per_child
from features.synth.params import SynthParams
from features.synth.population import Population
from features.synth.recording import delay, uniform_s

LEVELS = ("kindergarten", "primary", "secondary", "upper", "graduation")
LEVEL_AGE = (0, 3, 9, 12, 15)  # years after the kindergarten year


def _september_first(origin: np.datetime64, year: IntArray) -> IntArray:
    months = (year - 1970) * 12 + 8
    day = months.astype("datetime64[M]").astype("datetime64[D]")
    return (day - origin).astype(np.int64)


def school_days(grid: TimeGrid, pop: Population) -> IntArray:
    """(n, 5) day (from start) each level begins: kindergarten ... graduation."""
    origin = np.datetime64(grid.start, "D")
    born = origin + pop.birth_day.astype("timedelta64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    first_year = year + 3 + (month > 8)
    return np.stack([_september_first(origin, first_year + a) for a in LEVEL_AGE], axis=1)


def schooling_blocks(
    params: SynthParams,
    grid: TimeGrid,
    pop: Population,
    latent: Latent,
    dropout: tuple[IntArray, IntArray],
    rng: Rng,
) -> list[EventBlock]:
    """Enrolments, dropouts and absences of every child of the chunk."""
    days = school_days(grid, pop)
    n = pop.n_children
    kg = rng.random(n) < params.kindergarten_share * np.sqrt(reporting_bias(params, pop))
    upper = np.searchsorted(np.cumsum(params.upper_secondary), rng.random(n), side="right")
    dropped = _dropouts(days, upper, dropout, n)
    out = _enrolments(params, pop, days, kg, upper, dropped, rng)
    out.append(_events_at("education.dropout", dropped, pop, params, rng))
    out.append(_absences(params, grid, pop, latent, days, upper, dropped, rng))
    return out


def _dropouts(
    days: IntArray, upper: IntArray, dropout: tuple[IntArray, IntArray], n: int
) -> IntArray:
    """First dropout per child among candidates while enrolled in (junior or senior) school."""
    child, time = dropout
    begin = days[child, 2] * DAY
    end = np.where(upper[child] == 2, days[child, 3], days[child, 4]) * DAY
    ok = (time >= begin) & (time < end)
    return first_per_child(child[ok], time[ok], n)


def _enrolments(
    params: SynthParams,
    pop: Population,
    days: IntArray,
    kg: BoolArray,
    upper: IntArray,
    dropped: IntArray,
    rng: Rng,
) -> list[EventBlock]:
    """Each level's enrolment while it is (or becomes) the child's school in the window."""
    n = pop.n_children
    attends = (kg, np.ones(n, dtype=bool), np.ones(n, dtype=bool), upper < 2)
    out = []
    for level in range(4):
        at = days[:, level] * DAY + uniform_s(0.0, 3.0, n, rng)
        current = attends[level] & (days[:, level + 1] > 0) & (at < dropped)
        at = np.where(current, at, NEVER)
        if level < 3:
            out.append(_events_at("education.enrolled", at, pop, params, rng, LEVELS[level]))
            continue
        for code, choice in (("secondary", 0), ("vocational", 1)):
            pick = np.where(upper == choice, at, NEVER)
            out.append(_events_at("education.enrolled", pick, pop, params, rng, code))
    return out


def _events_at(
    event_type: str, at: IntArray, pop: Population, params: SynthParams, rng: Rng,
    detail: str | None = None,
) -> EventBlock:  # fmt: skip
    keep = (at < pop.adult_s) & (at < NEVER)
    child = np.flatnonzero(keep)
    time = at[keep]
    recorded = time + delay(params, "education", len(child), rng)
    return block(event_type, child, time, recorded, detail=detail)


def _terms(grid: TimeGrid) -> list[tuple[int, int]]:
    """(start day, end day) of every term that ends inside the window."""
    out = []
    for year in range(grid.start.year - 1, grid.end.year + 1):
        for lo, hi in (
            (date(year, 3, 1), date(year, 7, 10)),
            (date(year, 9, 1), date(year + 1, 1, 15)),
        ):
            if 0 < grid.day_of(hi) <= grid.export_s // DAY:
                out.append((grid.day_of(lo), grid.day_of(hi)))
    return out


def _absences(
    params: SynthParams,
    grid: TimeGrid,
    pop: Population,
    latent: Latent,
    days: IntArray,
    upper: IntArray,
    dropped: IntArray,
    rng: Rng,
) -> EventBlock:
    """Days absent per term for pupils (primary and up), recorded when >= absence_min_days."""
    weeks_in_crisis = np.cumsum(latent.crisis[:, latent.unit], axis=0, dtype=np.int16)
    school_end = np.where(upper == 2, days[:, 3], days[:, 4])
    scale = np.exp(params.absence_risk_coef * pop.risk)
    child_parts, time_parts, amount_parts = [], [], []
    for lo, hi in _terms(grid):
        first, last = max(-(-lo * DAY // WEEK), 0), hi * DAY // WEEK - 1
        crisis_weeks = weeks_in_crisis[last] - (weeks_in_crisis[first - 1] if first else 0)
        mean = (params.absence_base_days + params.absence_crisis_days * crisis_weeks) * scale
        absent = rng.poisson(mean)
        pupil = (days[:, 1] <= lo) & (lo < school_end) & (hi < pop.adult_day) & (dropped > hi * DAY)
        pick = np.flatnonzero(pupil & (absent >= params.absence_min_days))
        child_parts.append(pick)
        time_parts.append(np.full(len(pick), hi * DAY + 17 * 3600, dtype=np.int64))
        amount_parts.append(absent[pick].astype(np.float64))
    child = np.concatenate(child_parts) if child_parts else np.zeros(0, np.int64)
    time = np.concatenate(time_parts) if time_parts else np.zeros(0, np.int64)
    amount = np.concatenate(amount_parts) if amount_parts else np.zeros(0)
    recorded = time + delay(params, "education", len(child), rng)
    return block("education.absence", child, time, recorded, amount=amount)
