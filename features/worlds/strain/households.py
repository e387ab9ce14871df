"""What household shocks leave behind in the records: statuses, registrations, aid, calls.

Why: a shock is the visible face of a jump in strain, but only some shocks are visible,
and each through its own source: a parent's migration, illness, incarceration, drug
rehabilitation, lost contact or death becomes ``community.parent_status`` (and later
``returned``); two parents away at once make a left-behind or unattended registration
(or orphans, with a new guardian); a job loss or illness in an eligible family may start
dibao and bring temporary assistance; violence may bring a police call. Nothing here
feeds back into strain.

How: shocks are placed at a uniform time inside the first week at the lifted level
(so the oracle's level at D already includes every shock that happened by D). A
parent already away shows no new status. Registrations and dibao spells also make the
household "registered" for the child director's monthly visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import schema as s
from features.synth.arrays import (
    NEVER,
    WEEK,
    YEAR,
    EventBlock,
    IntArray,
    Rng,
    block,
    choice,
    detail_codes,
)
from features.synth.recording import uniform_s
from features.worlds.strain.followup import Reports, make_reports
from features.worlds.strain.home import Homes
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import HUKOU_NONE, Population
from features.worlds.strain.recording import Recorder
from features.worlds.strain.weeks import Shocks

LOCAL = s.HUKOU_VALUES.index("local")
MIGRATED = s.PARENT_STATUSES.index("migrated")
DECEASED = s.PARENT_STATUSES.index("deceased")
ILL = s.PARENT_STATUSES.index("ill_or_disabled")


@dataclass(frozen=True)
class Spells:
    """Household spells [start, end): a parent's status, or a household circumstance."""

    household: IntArray
    start: IntArray
    end: IntArray
    code: IntArray  # PARENT_STATUSES index (parent spells), or 0 left-behind, 1 unattended
    parent: IntArray  # 0 father, 1 mother (parent spells)


@dataclass(frozen=True)
class HouseholdRecords:
    """The events shocks leave, the reports among them, and (W, n_h) registration."""

    blocks: list[EventBlock]
    reports: list[Reports]
    registered: np.ndarray


def shock_times(shocks: Shocks, rng: Rng) -> IntArray:
    """A uniform second inside the first week at the lifted level."""
    return shocks.week * WEEK + np.floor(rng.random(len(shocks.week)) * WEEK).astype(np.int64)


def household_records(
    params: StrainParams, pop: Population, levels: np.ndarray, shocks: Shocks, homes: Homes,
    rec: Recorder, rng: Rng,
) -> HouseholdRecords:  # fmt: skip
    """Every record shocks leave, and which households are registered in which weeks."""
    time = shock_times(shocks, rng)
    parents = parent_spells(params, shocks, time, rng)
    blocks = status_blocks(parents, homes, rec)
    circumstances, orphans = joint_spells(parents)
    blocks.extend(registration_blocks(params, circumstances, homes, rec, rng))
    blocks.extend(orphan_blocks(params, orphans, homes, rec, rng))
    dibao = dibao_spells(params, pop, shocks, time, rng)
    blocks.extend(dibao_blocks(dibao, homes, rec))
    blocks.extend(assistance_blocks(params, shocks, time, homes, rec, rng))
    calls, reports = violence_blocks(params, pop, levels, shocks, time, homes, rec, rng)
    blocks.extend(calls)
    blocks.append(disability_block(params, pop, rec, rng))
    registered = registered_matrix(levels.shape, circumstances, dibao)
    return HouseholdRecords(blocks, reports, registered)


def parent_spells(params: StrainParams, shocks: Shocks, time: IntArray, rng: Rng) -> Spells:
    """Status spells of parents, in time order per household; a busy parent shows none."""
    kinds = params.shock_kinds
    status = np.array([s.PARENT_STATUSES.index(k.status) if k.status else -1 for k in kinds])
    pick = np.flatnonzero(status[shocks.kind] >= 0)
    pick = pick[np.lexsort((time[pick], shocks.household[pick]))]
    kind, n = shocks.kind[pick], len(pick)
    father = rng.random(n) < np.array([k.father_share for k in kinds])[kind]
    returns = rng.random(n) < np.array([k.returns for k in kinds])[kind]
    low = np.array([k.away_years[0] for k in kinds])[kind]
    high = np.array([k.away_years[1] for k in kinds])[kind]
    start = time[pick]
    end = np.where(returns, start + ((low + (high - low) * rng.random(n)) * YEAR), NEVER)
    household, parent = shocks.household[pick], (~father).astype(np.int64)
    keep = np.zeros(n, dtype=np.bool_)
    busy: dict[int, int] = {}
    for i, (h, p, t, e) in enumerate(
        zip(household, parent, start, end.astype(np.int64), strict=True)
    ):
        key = int(h) * 2 + int(p)
        if busy.get(key, -1) <= t:
            keep[i] = True
            busy[key] = int(e)
    return Spells(household[keep], start[keep], end.astype(np.int64)[keep],
                  status[kind][keep], parent[keep])  # fmt: skip


def status_blocks(spells: Spells, homes: Homes, rec: Recorder) -> list[EventBlock]:
    """community.parent_status at each spell's start, and ``returned`` at its end."""
    out = []
    row, child = homes.members(spells.household, spells.start)
    occurred = spells.start[row]
    codes = detail_codes(s.PARENT_STATUSES, spells.code[row])
    out.append(block("community.parent_status", child, occurred,
                     rec.at("status", child, occurred), detail=codes))  # fmt: skip
    back = np.flatnonzero(spells.end < NEVER)
    row, child = homes.members(spells.household[back], spells.end[back])
    occurred = spells.end[back][row]
    out.append(block("community.parent_status", child, occurred,
                     rec.at("status", child, occurred), detail="returned"))  # fmt: skip
    return out


def joint_spells(parents: Spells) -> tuple[Spells, Spells]:
    """Both parents away at once (an ill parent is not away): left-behind (one migrated)
    or unattended spells, and orphans (both deceased; start = the second death)."""
    by_household: dict[int, list[int]] = {}
    for i, h in enumerate(parents.household):
        if parents.code[i] != ILL:  # an ill or disabled parent is still at home
            by_household.setdefault(int(h), []).append(i)
    rows: list[tuple[int, int, int, int]] = []
    for h, idx in by_household.items():
        fathers = [i for i in idx if parents.parent[i] == 0]
        for i in fathers:
            for j in (j for j in idx if parents.parent[j] == 1):
                start = max(parents.start[i], parents.start[j])
                end = min(parents.end[i], parents.end[j])
                if start < end:
                    rows.append((h, int(start), int(end), _joint_code(parents.code[[i, j]])))
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    spells = Spells(
        table[:, 0], table[:, 1], table[:, 2], table[:, 3], np.zeros(len(table), np.int64)
    )
    orphan = spells.code == 2
    circumstances = _subset(spells, ~orphan)
    return circumstances, _subset(spells, orphan)


def _joint_code(codes: IntArray) -> int:
    """0 left-behind, 1 unattended, 2 orphaned."""
    if (codes == MIGRATED).any():
        return 0
    return 2 if (codes == DECEASED).all() else 1


def _subset(spells: Spells, keep: np.ndarray) -> Spells:
    return Spells(
        *(getattr(spells, f)[keep] for f in ("household", "start", "end", "code", "parent"))
    )


def registration_blocks(
    params: StrainParams, spells: Spells, homes: Homes, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """Left-behind (under 16) and unattended registrations some weeks into the spell."""
    registered = spells.start + uniform_s(14.0, 84.0, len(spells.start), rng)
    row, child = homes.members(spells.household, registered)
    left = spells.code[row] == 0
    sixteen = homes.birth_s[child] + int(params.left_behind_max_age * YEAR)
    at = registered[row]
    ok = (at < spells.end[row]) & (~left | (at < sixteen))
    out = []
    for is_left, kind in ((True, "community.left_behind_registered"),
                          (False, "community.unattended_registered")):  # fmt: skip
        pick = ok & (left == is_left)
        out.append(
            block(kind, child[pick], at[pick], rec.at("registration", child[pick], at[pick]))
        )
    pick = ok & left
    ended = np.minimum(spells.end[row][pick], sixteen[pick])
    done = ended < NEVER
    out.append(block("community.left_behind_ended", child[pick][done], ended[done],
                     rec.at("registration", child[pick][done], ended[done])))  # fmt: skip
    return out


def orphan_blocks(
    params: StrainParams, orphans: Spells, homes: Homes, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """A new guardian (grandparent, relative, other) for orphans, weeks after."""
    at = orphans.start + uniform_s(7.0, 90.0, len(orphans.start), rng)
    row, child = homes.members(orphans.household, at)
    guardian = choice(rng, params.orphan_guardians, len(orphans.start))[row]
    return [block("welfare.guardianship_change", child, at[row], rec.at("welfare", child, at[row]),
                  detail=detail_codes(s.GUARDIANS, guardian))]  # fmt: skip


def dibao_spells(
    params: StrainParams, pop: Population, shocks: Shocks, time: IntArray, rng: Rng
) -> Spells:
    """Dibao after a job loss or illness in a local or unregistered family (one at a time)."""
    names = [k.name for k in params.shock_kinds]
    trigger = np.isin(shocks.kind, [names.index("job_loss"), names.index("illness")])
    hukou = pop.hh_hukou[shocks.household]
    eligible = trigger & ((hukou == LOCAL) | (hukou == HUKOU_NONE))
    pick = np.flatnonzero(eligible & (rng.random(len(time)) < params.dibao_share))
    pick = pick[np.lexsort((time[pick], shocks.household[pick]))]
    start = time[pick] + uniform_s(14.0, 70.0, len(pick), rng)
    end = start + (rng.exponential(params.dibao_mean_years, len(pick)) * YEAR).astype(np.int64)
    keep = np.zeros(len(pick), dtype=np.bool_)
    until: dict[int, int] = {}
    for i, (h, a, b) in enumerate(zip(shocks.household[pick], start, end, strict=True)):
        if until.get(int(h), -1) <= a:
            keep[i] = True
            until[int(h)] = int(b)
    zero = np.zeros(int(keep.sum()), dtype=np.int64)
    return Spells(shocks.household[pick][keep], start[keep], end[keep], zero, zero)


def dibao_blocks(dibao: Spells, homes: Homes, rec: Recorder) -> list[EventBlock]:
    """dibao_start and dibao_end for the children at home at each."""
    out = []
    for kind, at in (("social_aid.dibao_start", dibao.start), ("social_aid.dibao_end", dibao.end)):
        row, child = homes.members(dibao.household, at)
        out.append(block(kind, child, at[row], rec.at("social_aid", child, at[row])))
    return out


def assistance_blocks(
    params: StrainParams, shocks: Shocks, time: IntArray, homes: Homes, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """Temporary assistance after some job losses, for each child of the household."""
    job_loss = [k.name for k in params.shock_kinds].index("job_loss")
    pick = np.flatnonzero(
        (shocks.kind == job_loss) & (rng.random(len(time)) < params.shock_assistance_share)
    )
    at = time[pick] + uniform_s(7.0, 40.0, len(pick), rng)
    median, sigma = params.assistance_yuan
    yuan = np.round(median * np.exp(sigma * rng.standard_normal(len(pick))), -1)
    row, child = homes.members(shocks.household[pick], at)
    return [block("social_aid.temporary_assistance", child, at[row],
                  rec.at("social_aid", child, at[row]), amount=yuan[row])]  # fmt: skip


def violence_blocks(
    params: StrainParams, pop: Population, levels: np.ndarray, shocks: Shocks, time: IntArray,
    homes: Homes, rec: Recorder, rng: Rng,
) -> tuple[list[EventBlock], list[Reports]]:  # fmt: skip
    """A police call after some violence shocks (more often where the family is seen),
    and the police's report for some."""
    violence = [k.name for k in params.shock_kinds].index("violence")
    chance = params.violence_call_share * pop.hh_visibility[shocks.household]
    pick = np.flatnonzero((shocks.kind == violence) & (rng.random(len(time)) < chance))
    severity = np.where(rng.random(len(pick)) < 0.5, 3, 2)
    reported = rng.random(len(pick)) < params.dv_report_share
    row, child = homes.members(shocks.household[pick], time[pick])
    at = time[pick][row]
    calls = [block("police.domestic_violence_call", child, at, rec.at("police", child, at),
                   severity=severity[row])]  # fmt: skip
    rows = np.flatnonzero(reported[row])
    when = at[rows] + uniform_s(0.0, 1.0, len(rows), rng)
    level = levels[shocks.week[pick][row][rows], shocks.household[pick][row][rows]]
    report = make_reports(child[rows], when, rec.at("report", child[rows], when),
                          severity[row][rows], "police", level)  # fmt: skip
    return calls, [report]


def disability_block(params: StrainParams, pop: Population, rec: Recorder, rng: Rng) -> EventBlock:
    """health.disability_certified at the certification age (level 1-4, kind)."""
    child = np.flatnonzero(pop.disabled)
    at = pop.disabled_at[child]
    level = choice(rng, params.disability_levels, len(child)) + 1
    kind = detail_codes(s.DISABILITY_KINDS, choice(rng, params.disability_kinds, len(child)))
    return block("health.disability_certified", child, at, rec.at("disability", child, at),
                 severity=level, detail=kind)  # fmt: skip


def registered_matrix(shape: tuple[int, ...], *spells: Spells) -> np.ndarray:
    """(W, n_h) bool: some registration or dibao spell is active at the week's start."""
    n_weeks, n_h = shape
    diff = np.zeros((n_weeks + 1, n_h), dtype=np.int32)
    for spell in spells:
        first = np.clip(-(-spell.start // WEEK), 0, n_weeks)
        stop = np.clip(-(-np.minimum(spell.end, NEVER // 2) // WEEK), 0, n_weeks)
        np.add.at(diff, (first, spell.household), 1)
        np.add.at(diff, (stop, spell.household), -1)
    return np.asarray(np.cumsum(diff[:-1], axis=0) > 0, dtype=np.bool_)
