"""Household-level signals: child directors' home visits, police calls, assistance, noise.

Why: some sources look at a household, not a child: the community child director
visits (about once a year, monthly while the family is registered for dibao or as
left-behind or unattended) and notes a concern that is a noisy reading of strain; the
police answer domestic-violence calls, far more often at high strain; emergency
assistance follows strain; and a few households have a noise reporter (a feuding
neighbour or relative) whose reports have nothing to do with strain. Visibility thins
the visits and calls a family gets.

How: per block of households, a (W, nb) matrix of each kind's rate, one uniform per
household-week against the sum, the kind of a hit in proportion; each hit is copied to
the household's children at home (a noise report to one of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import (
    DETAIL_CODE,
    WEEK,
    EventBlock,
    FloatArray,
    IntArray,
    Rng,
    block,
    choice,
)
from features.synth.recording import uniform_s
from features.worlds.strain.followup import Reports, make_reports, report_severity
from features.worlds.strain.home import Homes
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import Population
from features.worlds.strain.recording import Recorder

BLOCK = 4096
VISIT, CALL, AID, NOISE = range(4)
NOISE_REPORTERS = ("neighbor", "family", "hotline")


@dataclass(frozen=True)
class HouseholdHits:
    """Household-level signals drawn: household, time (s), kind (VISIT...), level."""

    household: IntArray
    time: IntArray
    kind: IntArray
    level: IntArray


def household_rates(
    params: StrainParams, pop: Population, level: np.ndarray, registered: np.ndarray,
    rows: IntArray,
) -> FloatArray:  # fmt: skip
    """(4, W, nb) rate of each household-level kind in each week."""
    s = level.astype(np.float64)
    vis = pop.hh_visibility[rows][None, :]
    seen = np.sqrt(vis)
    return np.stack([
        vis * params.visit_per_week * np.exp(params.visit_strain_coef * s)
        + registered * params.visit_registered,
        seen * params.dv_per_week * np.exp(params.dv_strain_coef * s),
        seen * params.assistance_per_week * np.exp(params.assistance_strain_coef * s)
        + registered * params.assistance_registered,
        np.broadcast_to(pop.hh_noise[rows][None, :] * params.noise_per_week, s.shape),
    ])  # fmt: skip


def draw_household_hits(
    params: StrainParams, pop: Population, levels: np.ndarray, registered: np.ndarray,
    active: np.ndarray, rng: Rng,
) -> HouseholdHits:  # fmt: skip
    """Every household-level signal, block by block of households."""
    parts = []
    for lo in range(0, pop.n_households, BLOCK):
        rows = np.arange(lo, min(lo + BLOCK, pop.n_households))
        level = levels[:, rows]
        rates = household_rates(params, pop, level, registered[:, rows], rows)
        rates *= active[None, :, rows]
        total = rates.sum(axis=0)
        week, col = np.nonzero(rng.random(total.shape) < -np.expm1(-total))
        cum = np.cumsum(rates[:, week, col], axis=0)
        kind = (cum <= rng.random(len(col))[None, :] * cum[-1:]).sum(axis=0)
        time = week * WEEK + np.floor(rng.random(len(col)) * WEEK).astype(np.int64)
        parts.append((rows[col], time, np.minimum(kind, NOISE), level[week, col]))
    return HouseholdHits(
        *(np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(4))
    )


def household_signal_blocks(
    params: StrainParams, hits: HouseholdHits, homes: Homes, rec: Recorder, rng: Rng
) -> tuple[list[EventBlock], list[Reports]]:
    """The events of every household-level signal, and the reports among them."""
    blocks: list[EventBlock] = []
    reports: list[Reports] = []
    for kind, make in ((VISIT, _visits), (CALL, _calls), (AID, _aid), (NOISE, _noise)):
        pick = hits.kind == kind
        made, made_reports = make(params, hits.household[pick], hits.time[pick],
                                  hits.level[pick], homes, rec, rng)  # fmt: skip
        blocks.extend(made)
        reports.extend(made_reports)
    return blocks, reports


def _visits(
    params: StrainParams, household: IntArray, time: IntArray, level: IntArray, homes: Homes,
    rec: Recorder, rng: Rng,
) -> tuple[list[EventBlock], list[Reports]]:  # fmt: skip
    """Home visits: the concern noted is (strain - a) / b + noise, 0-3, per household."""
    a, b, sd = params.visit_concern
    noisy = (level - a) / b + sd * rng.standard_normal(len(level))
    concern = np.clip(np.rint(noisy), 0, 3).astype(np.int64)
    concern[rng.random(len(level)) < params.missing_mark_share] = -1
    row, child = homes.members(household, time)
    at = time[row]
    visits = block("community.home_visit", child, at, rec.at("community", child, at),
                   severity=concern[row])  # fmt: skip
    worried = np.flatnonzero(
        (concern[row] == 3) & (rng.random(len(row)) < params.visit_report_share)
    )
    when = at[worried] + uniform_s(0.0, 5.0, len(worried), rng)
    lv = level[row][worried]
    report = make_reports(child[worried], when, rec.at("report", child[worried], when),
                          report_severity(params, lv, rng), "community", lv)  # fmt: skip
    return [visits], [report]


def _calls(
    params: StrainParams, household: IntArray, time: IntArray, level: IntArray, homes: Homes,
    rec: Recorder, rng: Rng,
) -> tuple[list[EventBlock], list[Reports]]:  # fmt: skip
    """Domestic-violence calls to the household, and the police's report for some."""
    severity = report_severity(params, level, rng)
    reported = rng.random(len(level)) < params.dv_report_share
    row, child = homes.members(household, time)
    at = time[row]
    calls = block("police.domestic_violence_call", child, at, rec.at("police", child, at),
                  severity=severity[row])  # fmt: skip
    pick = np.flatnonzero(reported[row])
    when = at[pick] + uniform_s(0.0, 1.0, len(pick), rng)
    lv = level[row][pick]
    report = make_reports(child[pick], when, rec.at("report", child[pick], when),
                          severity[row][pick], "police", lv)  # fmt: skip
    return [calls], [report]


def _aid(
    params: StrainParams, household: IntArray, time: IntArray, level: IntArray, homes: Homes,
    rec: Recorder, rng: Rng,
) -> tuple[list[EventBlock], list[Reports]]:  # fmt: skip
    median, sigma = params.assistance_yuan
    yuan = np.round(median * np.exp(sigma * rng.standard_normal(len(level))), -1)
    row, child = homes.members(household, time)
    at = time[row]
    return [block("social_aid.temporary_assistance", child, at,
                  rec.at("social_aid", child, at), amount=yuan[row])], []  # fmt: skip


def _noise(
    params: StrainParams, household: IntArray, time: IntArray, level: IntArray, homes: Homes,
    rec: Recorder, rng: Rng,
) -> tuple[list[EventBlock], list[Reports]]:  # fmt: skip
    """A noise reporter's report about one child at home, unrelated to strain."""
    row, child = homes.members(household, time)
    order = np.lexsort((rng.random(len(row)), row))
    first = order[np.r_[True, row[order][1:] != row[order][:-1]]] if len(row) else order
    row, child = row[first], child[first]
    n = len(row)
    severity = choice(rng, (0.5, 0.35, 0.15), n) + 1
    reporter = np.array([DETAIL_CODE[r] for r in NOISE_REPORTERS])[choice(rng, (0.5, 0.3, 0.2), n)]
    at = time[row]
    report = make_reports(child, at, rec.at("report", child, at), severity, reporter,
                          level[row], noise=True)  # fmt: skip
    return [], [report]
