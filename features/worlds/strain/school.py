"""School: who is in kindergarten or school when, term weeks, enrolments, absences, dropouts.

Why: the school is a source that sees a child only in term weeks and only while the
child is enrolled, so its silence in the holidays, before school age or after a
dropout means nothing; models must not read it as calm. How: the school year starts
on 1 September and a child starts primary school in the year it has turned 6 by
31 August (kindergarten three years earlier for most, junior secondary six years
later, then senior secondary, vocational school or nothing three years after that).
Terms run 1 September - 15 January and 1 March - 10 July. Dropouts are drawn from the
strain path (older children, at home); absences per term grow with the term's mean
strain. Only enrolments that happen from the window's start on are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from features import schema as s
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
    detail_codes,
)
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import Population
from features.worlds.strain.recording import Recorder

KINDER, PRIMARY, SECONDARY, UPPER, DONE = range(5)
STAGE_YEARS = (-3, 0, 6, 9, 12)  # years after the primary school year
TERMS = (((9, 1), (1, 15)), ((3, 1), (7, 10)))  # (start month, day), (end month, day)


@dataclass(frozen=True)
class SchoolPlan:
    """Each child's school career and the calendar of terms."""

    stage_day: IntArray  # (n, 5) day (from start) each stage begins
    kinder: BoolArray  # (n,) attends kindergarten
    upper: IntArray  # (n,) after junior secondary: 0 secondary, 1 vocational, 2 none
    term_week: BoolArray  # (W,) the week starts inside a term
    terms: tuple[tuple[int, int], ...]  # (first day, end day) of each term in the window

    @property
    def end_day(self) -> IntArray:
        """The day schooling ends: graduation, or the end of junior secondary."""
        return np.where(self.upper == 2, self.stage_day[:, UPPER], self.stage_day[:, DONE])


def school_plan(params: StrainParams, grid: TimeGrid, pop: Population, rng: Rng) -> SchoolPlan:
    """Every child's stages, kindergarten attendance and path after junior secondary."""
    origin = np.datetime64(grid.start, "D")
    born = origin + pop.birth_day.astype("timedelta64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    primary_year = year + 6 + (month > 8)
    stage_day = np.stack([_sept_first(origin, primary_year + a) for a in STAGE_YEARS], axis=1)
    n = pop.n_children
    vis = pop.hh_visibility[pop.unit]
    cum = np.cumsum(params.upper_secondary)
    return SchoolPlan(
        stage_day=stage_day,
        kinder=rng.random(n) < params.kindergarten_share * vis**0.3,
        upper=np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), 2),
        term_week=_term_weeks(grid),
        terms=_terms(grid),
    )


def _sept_first(origin: np.datetime64, year: IntArray) -> IntArray:
    day = ((year - 1970) * 12 + 8).astype("datetime64[M]").astype("datetime64[D]")
    return np.asarray((day - origin).astype(np.int64), dtype=np.int64)


def _terms(grid: TimeGrid) -> tuple[tuple[int, int], ...]:
    """Terms that start on or after the window's start and end before the export."""
    out = []
    for year in range(grid.start.year - 1, grid.end.year + 1):
        for (m0, d0), (m1, d1) in TERMS:
            first = date(year, m0, d0)
            end = date(year + (m1 < m0), m1, d1)
            if first >= grid.start and end < grid.end:
                out.append((grid.day_of(first), grid.day_of(end)))
    return tuple(sorted(out))


def _term_weeks(grid: TimeGrid) -> BoolArray:
    day = np.datetime64(grid.start, "D") + 7 * np.arange(grid.n_weeks)
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    md = month * 100 + dom
    return np.asarray((md >= 901) | (md < 115) | ((md >= 301) & (md < 710)), dtype=np.bool_)


def dropout_times(
    params: StrainParams, plan: SchoolPlan, rows: IntArray, strain: np.ndarray, rng: Rng
) -> IntArray:
    """(nb,) dropout time (s) of some children from their at-home strain (W, nb); NEVER
    for those who stay. Only from junior secondary on, while enrolled."""
    week_day = 7 * np.arange(strain.shape[0])[:, None]
    eligible = (week_day >= plan.stage_day[rows, SECONDARY]) & (week_day < plan.end_day[rows])
    rate = params.dropout_per_week * np.exp(params.dropout_strain_coef * strain) * eligible
    hit = rng.random(strain.shape, dtype=np.float32) < -np.expm1(-rate)
    any_hit = hit.any(axis=0)
    week = np.argmax(hit, axis=0)
    time = week * WEEK + np.floor(rng.random(len(rows)) * WEEK).astype(np.int64)
    return np.where(any_hit, time, NEVER).astype(np.int64)


def school_masks(
    plan: SchoolPlan, rows: IntArray, dropout_s: IntArray, n_weeks: int
) -> tuple[np.ndarray, np.ndarray]:
    """(W, nb) term weeks in school (before any dropout) and term weeks in kindergarten."""
    week_day = 7 * np.arange(n_weeks)[:, None]
    term = plan.term_week[:, None]
    stage = plan.stage_day[rows]
    school = (week_day >= stage[:, PRIMARY]) & (week_day < plan.end_day[rows])
    school &= week_day * DAY < dropout_s[None, :]
    kinder = plan.kinder[rows] & (week_day >= stage[:, KINDER]) & (week_day < stage[:, PRIMARY])
    return term & school, term & kinder


def enrolment_blocks(
    plan: SchoolPlan, grid: TimeGrid, dropout_s: IntArray, rec: Recorder
) -> list[EventBlock]:
    """education.enrolled at each stage's start from the window's start on; dropouts."""
    n = len(plan.upper)
    every = np.ones(n, dtype=np.bool_)
    stages = (  # stage, who enters it, its SCHOOL_LEVELS index
        (KINDER, plan.kinder, np.zeros(n, dtype=np.int64)),
        (PRIMARY, every, np.ones(n, dtype=np.int64)),
        (SECONDARY, every, np.full(n, 2, dtype=np.int64)),
        (UPPER, plan.upper < 2, np.where(plan.upper == 1, 3, 2)),
    )
    out = []
    for stage, attends, level in stages:
        day_s = plan.stage_day[:, stage] * DAY
        before = np.minimum(dropout_s, grid.export_s)
        child = np.flatnonzero(attends & (day_s >= 0) & (day_s < before))
        occurred = day_s[child] + 8 * 3600
        codes = detail_codes(s.SCHOOL_LEVELS, level[child])
        recorded = rec.at("education", child, occurred)
        out.append(block("education.enrolled", child, occurred, recorded, detail=codes))
    dropped = np.flatnonzero(dropout_s < NEVER)
    occurred = dropout_s[dropped]
    out.append(
        block("education.dropout", dropped, occurred, rec.at("education", dropped, occurred))
    )
    return out


def absence_blocks(
    params: StrainParams,
    plan: SchoolPlan,
    strain: np.ndarray,
    dropout_s: IntArray,
    rec: Recorder,
    rng: Rng,
) -> list[EventBlock]:
    """education.absence per term and enrolled child, when at least absence_min_days;
    ``strain`` is (W, n) at-home strain. Recorded at the term's end."""
    out = []
    stage = plan.stage_day
    for first, end in plan.terms:
        school = (stage[:, PRIMARY] <= first) & (first < plan.end_day) & (first * DAY < dropout_s)
        kinder = plan.kinder & (stage[:, KINDER] <= first) & (first < stage[:, PRIMARY])
        child = np.flatnonzero(school | kinder)
        weeks = slice(-(-first // 7), end // 7)
        mean = strain[weeks][:, child].mean(axis=0) if child.size else np.zeros(0)
        days = rng.poisson(params.absence_days * np.exp(params.absence_strain_coef * mean))
        keep = days >= params.absence_min_days
        child = child[keep]
        occurred = np.full(len(child), end * DAY + 10 * 3600, dtype=np.int64)
        recorded = rec.at("education", child, occurred)
        amount = days[keep].astype(np.float64)
        out.append(block("education.absence", child, occurred, recorded, amount=amount))
    return out
