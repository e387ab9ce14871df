"""The full weekly simulation of one chunk: the chain, the outcome events, removals.

The only feedback from outcomes into the future is an emergency removal: the child is
away (foster or institution care, then reunified or adopted) from the next week on.
That changes rates only after a first outcome, so the oracle's first-event probability
is unaffected by it; removals before an as-of date are part of what it conditions on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from features.synth.arrays import (
    NEVER,
    WEEK,
    YEAR,
    BoolArray,
    IntArray,
    Rng,
    choice,
    concat_fields,
)
from features.synth.latent import (
    Latent,
    away_weeks,
    initial_state,
    outcome_rates,
    step_week,
    transition,
)
from features.synth.params import SynthParams

REMOVAL, FINDING, RESCUE, INJURY = 0, 1, 2, 3
REUNIFY, ADOPT, STAY = 0, 1, 2
MONTH = YEAR / 12


@dataclass(frozen=True)
class OutcomeDraws:
    """Every outcome event drawn: child, time (s), kind (REMOVAL...), severity (-1 none)."""

    child: IntArray
    time: IntArray
    kind: IntArray
    severity: IntArray


@dataclass(frozen=True)
class Removals:
    """What follows each emergency removal (rows parallel to the removals in OutcomeDraws)."""

    child: IntArray
    time: IntArray
    end_kind: IntArray  # REUNIFY, ADOPT or STAY
    end_at: IntArray  # reunification or adoption time (NEVER for STAY)
    foster: BoolArray  # foster placement (else institution)
    state_guardian: BoolArray  # guardianship passes to the state


def run_weeks(
    params: SynthParams, latent: Latent, chain_rng: Rng, marks_rng: Rng
) -> tuple[Latent, OutcomeDraws, Removals]:
    """Simulate every week: fills latent.crisis and the removal spells, returns outcomes."""
    n_weeks = latent.band.shape[0]
    away = _away_matrix(latent, len(latent.unit), n_weeks)
    state = initial_state(params, latent.hh_risk, latent.stress[0], chain_rng)
    draws: list[OutcomeDraws] = []
    removals: list[Removals] = []
    for week in range(n_weeks):
        latent.crisis[week] = state
        calm, crisis = outcome_rates(
            params,
            latent.static_log_rate,
            latent.band[week],
            latent.stress[week][latent.unit],
            away[week],
        )
        nxt = min(week + 1, n_weeks - 1)
        onset, leave = transition(params, latent.hh_risk, latent.stress[nxt])
        counts, state = step_week(state, latent.unit, calm, crisis, 1.0, onset, leave, chain_rng)
        if counts.any():
            week_draws = _outcome_marks(params, latent, week, counts, marks_rng)
            week_removals = _removals(params, latent, week_draws, marks_rng)
            _mark_away(away, week_removals)
            draws.append(week_draws)
            removals.append(week_removals)
    return _with_removals(latent, removals), _concat_draws(draws), _concat_removals(removals)


def _away_matrix(latent: Latent, n: int, n_weeks: int) -> np.ndarray:
    away = np.zeros((n_weeks, n), dtype=np.bool_)
    first, stop = away_weeks(latent.away_start, latent.away_end, n_weeks)
    for child, a, b in zip(latent.away_child, first, stop, strict=True):
        away[a:b, child] = True
    return away


def _outcome_marks(
    params: SynthParams, latent: Latent, week: int, counts: IntArray, rng: Rng
) -> OutcomeDraws:
    child = np.repeat(np.flatnonzero(counts), counts[counts > 0])
    n = len(child)
    time = week * WEEK + np.floor(rng.random(n) * WEEK).astype(np.int64)
    kind = outcome_kinds(params.outcome_mix, latent.band[week, child], rng)
    severity = outcome_severity(
        kind, params.removal_severity, params.outcome_injury_severe_share, rng
    )
    return OutcomeDraws(child, time, kind, severity)


def outcome_kinds(mix: tuple[tuple[float, ...], ...], band: np.ndarray, rng: Rng) -> IntArray:
    """Kind of each outcome (REMOVAL...) from the mix of its child's age band; shared with
    the strain world, whose outcomes are the same four kinds."""
    cum = np.cumsum(np.array(mix)[band], axis=1)
    kind = np.minimum((cum <= rng.random(len(band))[:, None] * cum[:, -1:]).sum(axis=1), 3)
    return np.asarray(kind, dtype=np.int64)


def outcome_severity(
    kind: IntArray, removal_severity: tuple[float, ...], injury_severe_share: float, rng: Rng
) -> IntArray:
    """Severity of each outcome: drawn for a removal, 3 for a finding, 3 or 2 for an
    injury, -1 (none) for a rescue. Uniforms in a fixed order: removals, then injuries."""
    severity = np.full(len(kind), -1, dtype=np.int64)
    removal = kind == REMOVAL
    severity[removal] = choice(rng, removal_severity, int(removal.sum())) + 1
    severity[kind == FINDING] = 3
    injury = kind == INJURY
    severe = rng.random(int(injury.sum())) < injury_severe_share
    severity[injury] = np.where(severe, 3, 2)
    return severity


def _removals(params: SynthParams, latent: Latent, draws: OutcomeDraws, rng: Rng) -> Removals:
    pick = draws.kind == REMOVAL
    child, time = draws.child[pick], draws.time[pick]
    n = len(child)
    age_years = (time / 86_400 - latent.birth_day[child]) / 365.25
    end_kind = np.where(rng.random(n) < params.reunify_share, REUNIFY, STAY)
    adopt = (end_kind == STAY) & (age_years < 3) & (rng.random(n) < params.adoption_share_under_3)
    end_kind[adopt] = ADOPT
    lo, hi = params.reunify_months
    reunify_at = time + ((lo + (hi - lo) * rng.random(n)) * MONTH).astype(np.int64)
    lo, hi = params.adoption_months
    adopt_at = time + ((lo + (hi - lo) * rng.random(n)) * MONTH).astype(np.int64)
    ends = (end_kind, reunify_at, adopt_at)
    return removals_ending(child, time, ends, params.foster_share,
                           params.removal_state_guardian_share, rng)  # fmt: skip


def removals_ending(
    child: IntArray, time: IntArray, ends: tuple[IntArray, IntArray, IntArray],
    foster_share: float, guardian_share: float, rng: Rng,
) -> Removals:  # fmt: skip
    """Removals with their drawn ends ``(end_kind, reunify_at, adopt_at)``: the end is at
    the time of its kind (NEVER for STAY). Then one uniform per removal for foster care
    and one for state guardianship, in that order (both generators draw them last)."""
    end_kind, reunify_at, adopt_at = ends
    end_at = np.select([end_kind == REUNIFY, end_kind == ADOPT], [reunify_at, adopt_at], NEVER)
    return Removals(
        child=child,
        time=time,
        end_kind=end_kind.astype(np.int64),
        end_at=end_at.astype(np.int64),
        foster=rng.random(len(child)) < foster_share,
        state_guardian=rng.random(len(child)) < guardian_share,
    )


def away_until(removals: Removals) -> IntArray:
    """End of the out-of-home spell: reunification, else never (adopted or staying)."""
    return np.where(removals.end_kind == REUNIFY, removals.end_at, NEVER)


def _mark_away(away: np.ndarray, removals: Removals) -> None:
    first, stop = away_weeks(removals.time + 1, away_until(removals), away.shape[0])
    for child, a, b in zip(removals.child, first, stop, strict=True):
        away[a:b, child] = True


def _with_removals(latent: Latent, removals: list[Removals]) -> Latent:
    if not removals:
        return latent
    rem = _concat_removals(removals)
    return replace(
        latent,
        away_child=np.concatenate([latent.away_child, rem.child]),
        away_start=np.concatenate([latent.away_start, rem.time + 1]),
        away_end=np.concatenate([latent.away_end, away_until(rem)]),
        away_trigger=np.concatenate([latent.away_trigger, rem.time]),
    )


def _concat_draws(draws: list[OutcomeDraws]) -> OutcomeDraws:
    if not draws:
        empty = np.zeros(0, dtype=np.int64)
        return OutcomeDraws(empty, empty, empty, empty)
    return concat_fields(OutcomeDraws, draws)


def _concat_removals(removals: list[Removals]) -> Removals:
    if not removals:
        empty = np.zeros(0, dtype=np.int64)
        return Removals(empty, empty, empty, empty, empty.astype(bool), empty.astype(bool))
    return concat_fields(Removals, removals)
