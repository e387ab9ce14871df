"""The pre-drawn circumstance script: parents' episodes, dibao, disability, abandonment.

Everything here is drawn before the weekly simulation and never depends on it, so the
oracle may condition on the whole script, future changes included. Times are seconds
from start; NEVER marks a spell that has no end (or does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import schema as s
from features.synth.arrays import (
    NEVER,
    WEEK,
    YEAR,
    BoolArray,
    IntArray,
    Rng,
    TimeGrid,
    choice,
    choice_rows,
    days_to_s,
)
from features.synth.params import PARENT_EPISODES, UNAVAILABLE, SynthParams
from features.synth.population import Population

MIGRATED = 1 + PARENT_EPISODES.index("migrated")
DECEASED = 1 + PARENT_EPISODES.index("deceased")
UNAVAILABLE_CODES = np.array([1 + PARENT_EPISODES.index(code) for code in UNAVAILABLE])
STATE = s.GUARDIANS.index("state")


@dataclass(frozen=True)
class Spells:
    """Household-level spells derived from both parents' episodes (NEVER when none)."""

    lb_start: IntArray  # left-behind: parents migrated (or one migrated, one unavailable)
    lb_end: IntArray
    un_start: IntArray  # unattended: both parents unavailable, not both deceased
    un_end: IntArray
    orphan_at: IntArray  # both parents deceased


@dataclass(frozen=True)
class Script:
    """All circumstances, drawn up front; see the module docstring."""

    episode: IntArray  # (n_h, 2) father, mother: 0 none, i + 1 = PARENT_EPISODES[i]
    ep_start: IntArray  # (n_h, 2)
    ep_end: IntArray  # (n_h, 2) the parent returns (NEVER: does not)
    dibao_start: IntArray  # (n_h,) NEVER: never on dibao
    dibao_end: IntArray
    spells: Spells
    guardian: IntArray  # (n_h,) index into GUARDIANS for orphans/unattended/left-behind
    guardian_at: IntArray  # (n_h,) orphans: when guardianship changed
    disabled_at: IntArray  # (n,) certification time, NEVER if none
    disability_level: IntArray  # (n,) 1-4
    disability_kind: IntArray  # (n,) index into DISABILITY_KINDS
    found_at: IntArray  # (n,) abandoned infant found, NEVER if not abandoned
    adopted_at: IntArray  # (n,) abandoned infant adopted, NEVER if not
    lb_reg: IntArray  # (n,) left-behind registration, NEVER if none
    lb_reg_end: IntArray  # (n,) registration ends (parent returns or child turns 16)
    un_reg: IntArray  # (n,) unattended registration, NEVER if none
    un_reg_end: IntArray
    placed_at: IntArray  # (n,) scripted institution placement (orphan, unattended, abandoned)


def draw_script(params: SynthParams, pop: Population, grid: TimeGrid, rng: Rng) -> Script:
    """Draw every circumstance of every household and child of the chunk."""
    episode, ep_start, ep_end = _episodes(params, pop, grid, rng)
    dibao_start, dibao_end = _dibao(params, pop, grid, rng)
    spells = derive_spells(episode, ep_start, ep_end)
    guardian = _guardians(params, spells, rng)
    guardian_at = np.where(
        spells.orphan_at < NEVER,
        spells.orphan_at + days_to_s(7 + 83 * rng.random(pop.n_households)),
        NEVER,
    )
    disabled_at, level, kind = _disability(params, pop, rng)
    found_at, adopted_at = _abandonment(params, pop, rng)
    lb_reg, lb_reg_end = _registration(
        pop, spells.lb_start, spells.lb_end, params.left_behind_max_age_years, rng
    )
    un_reg, un_reg_end = _registration(pop, spells.un_start, spells.un_end, 18.0, rng)
    return Script(
        episode=episode, ep_start=ep_start, ep_end=ep_end, dibao_start=dibao_start,
        dibao_end=dibao_end, spells=spells, guardian=guardian, guardian_at=guardian_at,
        disabled_at=disabled_at, disability_level=level, disability_kind=kind,
        found_at=found_at, adopted_at=adopted_at, lb_reg=lb_reg, lb_reg_end=lb_reg_end,
        un_reg=un_reg, un_reg_end=un_reg_end,
        placed_at=_placements(pop, guardian, guardian_at, found_at, un_reg, rng),
    )  # fmt: skip


def _window(pop: Population, grid: TimeGrid) -> tuple[IntArray, IntArray, IntArray]:
    """Per household: (oldest birth - 1 year, youngest birth, end of the relevant time)."""
    n_h = pop.n_households
    oldest = np.full(n_h, NEVER, dtype=np.int64)
    np.minimum.at(oldest, pop.unit, pop.birth_s)
    youngest = np.full(n_h, -NEVER, dtype=np.int64)
    np.maximum.at(youngest, pop.unit, pop.birth_s)
    last = np.full(n_h, -NEVER, dtype=np.int64)
    np.maximum.at(last, pop.unit, pop.adult_s)
    return oldest - int(YEAR), youngest, np.minimum(last, grid.export_s)


def _episodes(
    params: SynthParams, pop: Population, grid: TimeGrid, rng: Rng
) -> tuple[IntArray, IntArray, IntArray]:
    """Each parent's one episode (or none): scenario-level pairs, else independent draws."""
    n_h = pop.n_households
    low, youngest, high = _window(pop, grid)
    episode = np.zeros((n_h, 2), dtype=np.int64)
    start = (low[:, None] + (high - low)[:, None] * rng.random((n_h, 2))).astype(np.int64)
    scenario = _scenario(params, pop, rng)
    for parent, probs in enumerate((params.episode_father, params.episode_mother)):
        episode[:, parent] = _independent(params, pop, probs, scenario == 0, rng)
    couple = scenario == 1
    episode[couple] = MIGRATED
    start[couple, 1] = start[couple, 0] + days_to_s(365 * rng.random(int(couple.sum())))
    joint = scenario == 2
    episode[joint] = DECEASED
    start[joint, 1] = start[joint, 0]
    pair = scenario == 3
    episode[pair] = _unavailable_pair(int(pair.sum()), rng)
    start[pair, 1] = start[pair, 0] + days_to_s(730 * rng.random(int(pair.sum())) - 365)
    dead = episode == DECEASED
    start[dead] = np.maximum(start[dead], np.broadcast_to(youngest[:, None], dead.shape)[dead])
    end = _episode_ends(params, episode, start, rng)
    episode[pop.hh_abandoned] = 0
    return episode, start, end


def _scenario(params: SynthParams, pop: Population, rng: Rng) -> IntArray:
    """0 independent episodes, 1 couple migrates, 2 both die, 3 both become unavailable."""
    r = pop.hh_risk
    couple = (
        np.array(params.couple_migration_by_area)[pop.hh_area]
        * np.array(params.couple_migration_hukou_rr)[pop.hh_hukou]
    )
    probs = np.stack(
        [
            couple * np.exp(0.3 * r),
            params.joint_death * np.exp(0.2 * r),
            params.unattended_pair * np.exp(0.6 * r),
        ],
        axis=1,
    )
    probs = np.minimum(probs, 0.3)
    hit = rng.random(len(r)) < probs.sum(axis=1)
    scenario = np.zeros(len(r), dtype=np.int64)
    scenario[hit] = choice_rows(rng, probs[hit]) + 1
    scenario[pop.hh_abandoned] = 0
    return scenario


def _independent(
    params: SynthParams, pop: Population, probs: tuple[float, ...], eligible: BoolArray, rng: Rng
) -> IntArray:
    rate = np.array(probs)[None, :] * np.exp(np.outer(pop.hh_risk, params.episode_risk_coef))
    rate[:, MIGRATED - 1] *= np.array(params.migration_area_rr)[pop.hh_area]
    hit = eligible & (rng.random(len(rate)) < rate.sum(axis=1))
    out = np.zeros(len(rate), dtype=np.int64)
    out[hit] = choice_rows(rng, rate[hit]) + 1
    return out


def _unavailable_pair(n: int, rng: Rng) -> IntArray:
    """Both parents unavailable (not both deceased): (deceased, incarcerated, ill, rehab, lost)."""
    father = UNAVAILABLE_CODES[choice(rng, (0.25, 0.30, 0.15, 0.15, 0.15), n)]
    mother = UNAVAILABLE_CODES[choice(rng, (0.15, 0.10, 0.25, 0.10, 0.40), n)]
    mother[(father == DECEASED) & (mother == DECEASED)] = UNAVAILABLE_CODES[-1]
    return np.stack([father, mother], axis=1)


def _episode_ends(params: SynthParams, episode: IntArray, start: IntArray, rng: Rng) -> IntArray:
    kind = np.maximum(episode - 1, 0)
    returns = (episode > 0) & (
        rng.random(episode.shape) < np.array(params.episode_return_share)[kind]
    )
    years = np.array(params.episode_years)[kind]
    length = years[..., 0] + (years[..., 1] - years[..., 0]) * rng.random(episode.shape)
    return np.where(returns, start + (length * YEAR).astype(np.int64), NEVER)


def _dibao(
    params: SynthParams, pop: Population, grid: TimeGrid, rng: Rng
) -> tuple[IntArray, IntArray]:
    low, _, high = _window(pop, grid)
    n_h = pop.n_households
    eligible = np.array([1.0, params.dibao_nonlocal_rr, 1.0, 0.5])[pop.hh_hukou]
    p = np.minimum(params.dibao * eligible * np.exp(params.dibao_risk_coef * pop.hh_risk), 0.9)
    on = (rng.random(n_h) < p) & ~pop.hh_abandoned
    start = low - int(YEAR) + ((high - low + int(YEAR)) * rng.random(n_h)).astype(np.int64)
    length = (rng.exponential(params.dibao_mean_years, n_h) * YEAR).astype(np.int64)
    return np.where(on, start, NEVER), np.where(on, start + length, NEVER)


def derive_spells(episode: IntArray, start: IntArray, end: IntArray) -> Spells:
    """Left-behind, unattended and orphan spells where both parents' episodes overlap."""
    a, b = episode[:, 0], episode[:, 1]
    mig_a, mig_b = a == MIGRATED, b == MIGRATED
    off_a, off_b = np.isin(a, UNAVAILABLE_CODES), np.isin(b, UNAVAILABLE_CODES)
    both_start = start.max(axis=1)
    both_end = end.min(axis=1)
    overlap = both_start < both_end
    left_behind = overlap & ((mig_a & mig_b) | (mig_a & off_b) | (mig_b & off_a))
    orphan = (a == DECEASED) & (b == DECEASED)
    unattended = overlap & off_a & off_b & ~orphan
    return Spells(
        lb_start=np.where(left_behind, both_start, NEVER),
        lb_end=np.where(left_behind, both_end, NEVER),
        un_start=np.where(unattended, both_start, NEVER),
        un_end=np.where(unattended, both_end, NEVER),
        orphan_at=np.where(orphan, both_start, NEVER),
    )


def _guardians(params: SynthParams, spells: Spells, rng: Rng) -> IntArray:
    n_h = len(spells.orphan_at)
    out = choice(rng, params.left_behind_guardians, n_h)
    un = spells.un_start < NEVER
    out[un] = choice(rng, params.unattended_guardians, int(un.sum()))
    orphan = spells.orphan_at < NEVER
    out[orphan] = choice(rng, params.orphan_guardians, int(orphan.sum()))
    return out


def _disability(
    params: SynthParams, pop: Population, rng: Rng
) -> tuple[IntArray, IntArray, IntArray]:
    n = pop.n_children
    low, high = params.disability_age_years
    at = pop.birth_s + ((low + (high - low) * rng.random(n)) * YEAR).astype(np.int64)
    has = (rng.random(n) < params.disability) & (at < pop.adult_s)
    level = choice(rng, params.disability_levels, n) + 1
    kind = choice(rng, params.disability_kinds, n)
    return np.where(has, at, NEVER), level, kind


def _abandonment(params: SynthParams, pop: Population, rng: Rng) -> tuple[IntArray, IntArray]:
    n = pop.n_children
    found = pop.birth_s + days_to_s(10 * rng.random(n))
    adopted = (rng.random(n) < params.abandoned_adoption_share) & pop.abandoned
    adopted_at = found + ((0.5 + 2.5 * rng.random(n)) * YEAR).astype(np.int64)
    return np.where(pop.abandoned, found, NEVER), np.where(adopted, adopted_at, NEVER)


def _registration(
    pop: Population, spell_start: IntArray, spell_end: IntArray, max_age: float, rng: Rng
) -> tuple[IntArray, IntArray]:
    """A child's registration of a household spell: 2-17 weeks after it starts (or birth)."""
    begin = np.maximum(spell_start[pop.unit], pop.birth_s)
    reg = begin + days_to_s(14 + 106 * rng.random(pop.n_children))
    limit = np.minimum(pop.birth_s + int(max_age * YEAR), pop.adult_s)
    reg_end = np.minimum(spell_end[pop.unit], limit)
    ok = (spell_start[pop.unit] < NEVER) & (reg < reg_end) & (reg_end > 0)
    return np.where(ok, reg, NEVER), np.where(ok, reg_end, NEVER)


def _placements(
    pop: Population,
    guardian: IntArray,
    guardian_at: IntArray,
    found_at: IntArray,
    un_reg: IntArray,
    rng: Rng,
) -> IntArray:
    """Scripted institution placements: state guardianship of orphans/unattended, foundlings."""
    n = pop.n_children
    state = guardian[pop.unit] == STATE
    orphan = state & (guardian_at[pop.unit] < NEVER)
    at = np.full(n, NEVER, dtype=np.int64)
    orphan_at = np.maximum(guardian_at[pop.unit], pop.birth_s) + days_to_s(14 * rng.random(n))
    at[orphan] = orphan_at[orphan]
    unattended = state & (un_reg < NEVER) & ~orphan
    at[unattended] = un_reg[unattended] + days_to_s(30 * rng.random(n))[unattended]
    found = found_at < NEVER
    at[found] = found_at[found] + days_to_s(3 * rng.random(n))[found]
    at[at >= pop.adult_s] = NEVER
    return at


def spell_matrix(
    n_rows: int, n_weeks: int, rows: IntArray, start: IntArray, end: IntArray, weight: IntArray
) -> np.ndarray:
    """(n_weeks, n_rows) int32: sum of integer weights of spells active at each week's start.

    A spell [start, end) is active in week k when start <= k x WEEK < end.
    """
    first = np.clip(-(-start // WEEK), 0, n_weeks)
    stop = np.clip(-(-np.minimum(end, NEVER // 2) // WEEK), 0, n_weeks)
    keep = (first < stop) & (weight != 0)
    diff = np.zeros((n_weeks + 1, n_rows), dtype=np.int32)
    np.add.at(diff, (first[keep], rows[keep]), weight[keep].astype(np.int32))
    np.add.at(diff, (stop[keep], rows[keep]), -weight[keep].astype(np.int32))
    return np.cumsum(diff[:n_weeks], axis=0, dtype=np.int32)
