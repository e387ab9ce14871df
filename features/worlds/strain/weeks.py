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
    WEEK,
    YEAR,
    BoolArray,
    FloatArray,
    IntArray,
    Rng,
    concat_fields,
)
from features.synth.latent import away_weeks, poisson_counts
from features.synth.weekly import (
    ADOPT,
    FINDING,
    REMOVAL,
    REUNIFY,
    STAY,
    OutcomeDraws,
    Removals,
    away_until,
    outcome_kinds,
    outcome_severity,
    removals_ending,
)
from features.worlds.strain.hazard import outcome_rate, place
from features.worlds.strain.ladder import (
    Ladder,
    draw_shocks,
    initial_levels,
    move_probs,
    step_levels,
)
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import Population

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


@dataclass
class _Care:
    """Per child, the weeks [first, stop) of its latest spell in care."""

    first: IntArray
    stop: IntArray


def run_weeks(
    params: StrainParams, pop: Population, latent: Latent, chain_rng: Rng, marks_rng: Rng
) -> tuple[Latent, Shocks, OutcomeDraws, Removals]:
    """Simulate every week; returns the latent state with its path and spells filled."""
    n_weeks = latent.levels.shape[0]
    never = np.full(pop.n_children, n_weeks, dtype=np.int64)
    care = _Care(never.copy(), never.copy())
    level = initial_levels(params, pop, chain_rng)
    shocks: list[Shocks] = []
    outcomes: list[OutcomeDraws] = []
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
) -> OutcomeDraws | None:
    """This week's outcome events (None when there are none)."""
    away = (care.first <= week) & (week < care.stop)
    rate = outcome_rate(params, latent.factor, latent.band[week], level[latent.unit], away)
    start = np.maximum(week * WEEK, latent.birth_s)
    end = np.maximum(np.minimum((week + 1) * WEEK, latent.adult_s), start)
    counts = poisson_counts(rate * ((end - start) / WEEK), chain_rng.random(len(rate)))
    if not counts.any():
        return None
    row, time = place(start, end, counts, marks_rng)
    return _marks(params, latent.band[week, row], away[row], row, time, marks_rng)


def _marks(
    params: StrainParams, band: np.ndarray, away: BoolArray, child: IntArray, time: IntArray,
    rng: Rng,
) -> OutcomeDraws:  # fmt: skip
    """Kind and severity of each outcome: by age band; in care, no removal (a finding)."""
    kind = outcome_kinds(params.outcome_mix, band, rng)
    order = np.lexsort((time, child))
    first = np.ones(len(child), dtype=np.bool_)
    first[order[1:]] = child[order[1:]] != child[order[:-1]]
    kind[(kind == REMOVAL) & (away | ~first)] = FINDING  # one removal a week, never in care
    severity = outcome_severity(kind, params.removal_severity, params.injury_severe_share, rng)
    return OutcomeDraws(child, time, kind, severity)


def _removals(params: StrainParams, pop: Population, drawn: OutcomeDraws, rng: Rng) -> Removals:
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
    ends = (end_kind, reunify_at, adopt_at)
    return removals_ending(child, time, ends, params.foster_share,
                           params.state_guardian_share, rng)  # fmt: skip


def _into_care(care: _Care, removed: Removals, n_weeks: int) -> None:
    first, stop = away_weeks(removed.time + 1, away_until(removed), n_weeks)
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


def _finish(
    outcomes: list[OutcomeDraws], removals: list[Removals]
) -> tuple[OutcomeDraws, Removals]:
    return _concat(OutcomeDraws, outcomes), _concat(Removals, removals)


def _concat(cls: type[T], items: list[T]) -> T:
    """One dataclass of arrays from many; empty arrays of the right kinds from none."""
    if items:
        return concat_fields(cls, items)
    columns: dict[str, np.ndarray] = {
        f.name: np.zeros(0, dtype=np.bool_ if f.type == "BoolArray" else np.int64)
        for f in fields(cast(Any, cls))
    }
    return cast(Any, cls)(**columns)  # type: ignore[no-any-return]
