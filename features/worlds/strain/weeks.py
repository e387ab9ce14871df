"""The weekly simulation: the strain path, the shocks, the outcomes and the removals.

Why: everything observed in the strain world is emitted from one realised latent path,
and the oracle conditions on that path's state at an as-of date, so the path is drawn
here once, week by week, with the ladder's and the hazard's own functions. How: each
week first draws every child's outcome count from the hazard at its household's level
(exposure: the part of the week the child is alive and under 18), then moves every
household's level into the next week. The only feedback is a removal: the child lives
in care from the next week on (the ``away_level`` rate), which changes rates only
after an outcome, so never a first-outcome probability; removals up to an as-of date
are part of what the oracle conditions on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar, cast

import numpy as np

from features.synth.arrays import (
    NEVER,
    WEEK,
    YEAR,
    BoolArray,
    FloatArray,
    IntArray,
    Rng,
    choice,
    concat_fields,
)
from features.worlds.strain.hazard import draw_counts, outcome_rate, place
from features.worlds.strain.ladder import (
    Ladder,
    draw_shocks,
    initial_levels,
    move_probs,
    step_levels,
)
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import Population

REMOVAL, FINDING, RESCUE, INJURY = 0, 1, 2, 3
REUNIFY, ADOPT, STAY = 0, 1, 2
MONTH = YEAR / 12
T = TypeVar("T")


@dataclass(frozen=True)
class Latent:
    """Everything the oracle conditions on, and the realised strain path.

    ``away_*`` lists every out-of-home spell (from a removal at ``away_trigger``): the
    child is in care in the weeks whose start lies in [away_start, away_end).
    """

    unit: IntArray  # household of each child
    factor: FloatArray  # (n,) time-constant part of the outcome rate
    band: np.ndarray  # (W, n) int8 age band
    birth_s: IntArray
    adult_s: IntArray
    ladder: Ladder
    levels: np.ndarray  # (W, n_h) int8 realised strain level in each week
    away_child: IntArray
    away_start: IntArray
    away_end: IntArray
    away_trigger: IntArray


@dataclass(frozen=True)
class Shocks:
    """Every household shock: household, the first week at the lifted level, kind, jump."""

    household: IntArray
    week: IntArray
    kind: IntArray
    jump: IntArray


@dataclass(frozen=True)
class Outcomes:
    """Every outcome event: child, time (s), kind (REMOVAL...), severity (-1 none)."""

    child: IntArray
    time: IntArray
    kind: IntArray
    severity: IntArray


@dataclass(frozen=True)
class Removals:
    """What follows each removal (rows parallel to the removals among the outcomes)."""

    child: IntArray
    time: IntArray
    end_kind: IntArray  # REUNIFY, ADOPT or STAY
    end_at: IntArray  # reunification or adoption time (NEVER for STAY)
    foster: BoolArray
    state_guardian: BoolArray


@dataclass
class _Care:
    """Per child, the weeks [first, stop) of its latest spell in care."""

    first: IntArray
    stop: IntArray


def run_weeks(
    params: StrainParams, pop: Population, latent: Latent, chain_rng: Rng, marks_rng: Rng
) -> tuple[Latent, Shocks, Outcomes, Removals]:
    """Simulate every week; returns the latent state with its path and spells filled."""
    n_weeks = latent.levels.shape[0]
    never = np.full(pop.n_children, n_weeks, dtype=np.int64)
    care = _Care(never.copy(), never.copy())
    level = initial_levels(params, pop, chain_rng)
    shocks: list[Shocks] = []
    outcomes: list[Outcomes] = []
    removals: list[Removals] = []
    for week in range(n_weeks):
        latent.levels[week] = level
        drawn = _week_outcomes(params, latent, care, week, level, chain_rng, marks_rng)
        if drawn is not None:
            removed = _removals(params, pop, drawn, marks_rng)
            _into_care(care, removed, n_weeks)
            outcomes.append(drawn)
            removals.append(removed)
        if week + 1 < n_weeks:
            level, shocked = _move(params, latent.ladder, level, week + 1, chain_rng)
            shocks.append(shocked)
    return _with_spells(latent, removals), _concat(Shocks, shocks), *_finish(outcomes, removals)


def _week_outcomes(
    params: StrainParams,
    latent: Latent,
    care: _Care,
    week: int,
    level: IntArray,
    chain_rng: Rng,
    marks_rng: Rng,
) -> Outcomes | None:
    """This week's outcome events (None when there are none)."""
    away = (care.first <= week) & (week < care.stop)
    rate = outcome_rate(params, latent.factor, latent.band[week], level[latent.unit], away)
    start = np.maximum(week * WEEK, latent.birth_s)
    end = np.maximum(np.minimum((week + 1) * WEEK, latent.adult_s), start)
    counts = draw_counts(rate * ((end - start) / WEEK), chain_rng.random(len(rate)))
    if not counts.any():
        return None
    row, time = place(start, end, counts, marks_rng)
    return _marks(params, latent.band[week, row], away[row], row, time, marks_rng)


def _marks(
    params: StrainParams, band: np.ndarray, away: BoolArray, child: IntArray, time: IntArray,
    rng: Rng,
) -> Outcomes:  # fmt: skip
    """Kind and severity of each outcome: by age band; in care, no removal (a finding)."""
    n = len(child)
    mix = np.array(params.outcome_mix)[band]
    cum = np.cumsum(mix, axis=1)
    kind = np.minimum((cum <= rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1), 3)
    order = np.lexsort((time, child))
    first = np.ones(n, dtype=np.bool_)
    first[order[1:]] = child[order[1:]] != child[order[:-1]]
    kind[(kind == REMOVAL) & (away | ~first)] = FINDING  # one removal a week, never in care
    severity = np.full(n, -1, dtype=np.int64)
    removal = kind == REMOVAL
    severity[removal] = choice(rng, params.removal_severity, int(removal.sum())) + 1
    severity[kind == FINDING] = 3
    injury = kind == INJURY
    severity[injury] = np.where(rng.random(int(injury.sum())) < params.injury_severe_share, 3, 2)
    return Outcomes(child, time, kind.astype(np.int64), severity)


def _removals(params: StrainParams, pop: Population, drawn: Outcomes, rng: Rng) -> Removals:
    pick = drawn.kind == REMOVAL
    child, time = drawn.child[pick], drawn.time[pick]
    n = len(child)
    age_years = (time - pop.birth_s[child]) / YEAR
    months = params.reunify_median_months * np.exp(params.reunify_sigma * rng.standard_normal(n))
    reunify_at = time + (np.maximum(months, 1.0) * MONTH).astype(np.int64)
    lo, hi = params.adoption_months
    adopt_at = time + ((lo + (hi - lo) * rng.random(n)) * MONTH).astype(np.int64)
    end_kind = np.where(rng.random(n) < params.reunify_share, REUNIFY, STAY)
    adopt = (end_kind == STAY) & (age_years < 4) & (rng.random(n) < params.adoption_share_under_4)
    end_kind[adopt] = ADOPT
    end_at = np.select([end_kind == REUNIFY, end_kind == ADOPT], [reunify_at, adopt_at], NEVER)
    return Removals(
        child=child,
        time=time,
        end_kind=end_kind.astype(np.int64),
        end_at=end_at.astype(np.int64),
        foster=rng.random(n) < params.foster_share,
        state_guardian=rng.random(n) < params.state_guardian_share,
    )


def away_until(removals: Removals) -> IntArray:
    """End of the spell in care: reunification, else never (adopted or staying)."""
    return np.where(removals.end_kind == REUNIFY, removals.end_at, NEVER).astype(np.int64)


def care_weeks(start: IntArray, end: IntArray, n_weeks: int) -> tuple[IntArray, IntArray]:
    """[first, stop) indices of the weeks whose start lies in [start, end)."""
    first = np.clip(-(-start // WEEK), 0, n_weeks)
    stop = np.clip(-(-np.minimum(end, 2**61) // WEEK), 0, n_weeks)
    return first, stop


def _into_care(care: _Care, removed: Removals, n_weeks: int) -> None:
    first, stop = care_weeks(removed.time + 1, away_until(removed), n_weeks)
    care.first[removed.child] = first
    care.stop[removed.child] = stop


def _move(
    params: StrainParams, ladder: Ladder, level: IntArray, week: int, rng: Rng
) -> tuple[IntArray, Shocks]:
    """Every household's level in ``week`` from the level before, and the shocks drawn."""
    moves = move_probs(
        params, ladder.shock_rate, ladder.drift, ladder.recovery, ladder.calendar[week], level
    )
    u = rng.random(len(level))
    shocked = np.flatnonzero(u < moves.shock)
    kind, jump = draw_shocks(params, len(shocked), rng)
    jumps = np.zeros(len(level), dtype=np.int64)
    jumps[shocked] = jump
    new = step_levels(params, level, moves, u, jumps)
    return new, Shocks(shocked, np.full(len(shocked), week, dtype=np.int64), kind, jump)


def _with_spells(latent: Latent, removals: list[Removals]) -> Latent:
    if not removals:
        return latent
    rem = _concat(Removals, removals)
    return replace(
        latent,
        away_child=rem.child,
        away_start=rem.time + 1,
        away_end=away_until(rem),
        away_trigger=rem.time,
    )


def _finish(outcomes: list[Outcomes], removals: list[Removals]) -> tuple[Outcomes, Removals]:
    return _concat(Outcomes, outcomes), _concat(Removals, removals)


def _concat(cls: type[T], items: list[T]) -> T:
    """One dataclass of arrays from many; empty arrays of the right kinds from none."""
    if items:
        return concat_fields(cls, items)
    columns: dict[str, np.ndarray] = {
        f.name: np.zeros(0, dtype=np.bool_ if f.type == "BoolArray" else np.int64)
        for f in fields(cast(Any, cls))
    }
    return cast(Any, cls)(**columns)  # type: ignore[no-any-return]
