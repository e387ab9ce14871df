"""What follows a report, and what follows an outcome.

Why: investigations, findings and cases are how the welfare system reacts to what it is
told; they carry information (a substantiated finding says more than a report), but in
this world they are consequences, never causes: nothing here moves strain. Outcome
events bring their own trail (a removal a placement, a case and months later a
reunification or adoption; a suspicious injury the hospital's report), and all of it
happens at or after the outcome, so no as-of date can see an outcome coming from its
own trail.

How: ``Reports`` collects every ordinary concern report with the strain level at the
time and whether a noise reporter made it; ``report_blocks`` writes them and draws
their investigations (by severity), findings (substantiated with a probability rising
with the strain at the report, rarely for noise reports; severity 0-2, so never an
outcome) and cases. ``outcome_blocks`` writes the outcome events and their trails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import schema as s
from features.synth.arrays import (
    DAY,
    DETAIL_CODE,
    NEVER,
    YEAR,
    BoolArray,
    EventBlock,
    IntArray,
    Rng,
    block,
    choice,
    concat_fields,
    detail_codes,
)
from features.synth.recording import uniform_s
from features.synth.weekly import ADOPT, FINDING, INJURY, RESCUE, REUNIFY, OutcomeDraws, Removals
from features.worlds.strain.params import StrainParams
from features.worlds.strain.recording import Recorder

MONTH = YEAR / 12
ALLEGATION_MIX = (0.45, 0.25, 0.05, 0.12, 0.05, 0.08)  # ALLEGATIONS
SERIOUS = (0.35, 0.35, 0.10, 0.0, 0.10, 0.10)  # ALLEGATIONS, after an outcome
OUTCOME_REPORTERS = ("school", "hospital", "police", "neighbor", "community", "hotline")
OUTCOME_REPORTER_MIX = (0.25, 0.2, 0.2, 0.15, 0.1, 0.1)


@dataclass(frozen=True)
class Reports:
    """Ordinary concern reports: who, when, how serious, by whom, strain then, noise."""

    child: IntArray
    occurred: IntArray
    recorded: IntArray
    severity: IntArray  # 1-3, -1 not recorded
    reporter: IntArray  # DETAIL_CODE code
    level: IntArray  # household strain level at the time
    noise: BoolArray  # made by a noise reporter


def make_reports(
    child: IntArray, occurred: IntArray, recorded: IntArray, severity: IntArray,
    reporter: str | IntArray, level: IntArray, noise: bool = False,
) -> Reports:  # fmt: skip
    """Reports of one reporter (a code name) or of reporters given as DETAIL_CODE codes."""
    n = len(child)
    code = np.full(n, DETAIL_CODE[reporter]) if isinstance(reporter, str) else reporter
    return Reports(
        child, occurred, recorded, severity.astype(np.int64), code.astype(np.int64),
        level.astype(np.int64), np.full(n, noise, dtype=np.bool_),
    )  # fmt: skip


def report_severity(params: StrainParams, level: IntArray, rng: Rng) -> IntArray:
    """A reporter's severity 1-3: a noisy, coarse reading of strain (-1 when not marked)."""
    n = len(level)
    noisy = level + params.report_noise_sd * rng.standard_normal(n)
    severity = np.clip(1 + np.floor(noisy / 4), 1, 3).astype(np.int64)
    return np.where(rng.random(n) < params.missing_mark_share, -1, severity)


def report_blocks(
    params: StrainParams, reports: list[Reports], rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """The reports, their investigations, findings and cases."""
    rep = concat_fields(Reports, reports)
    out = [
        block("report.concern", rep.child, rep.occurred, rep.recorded, severity=rep.severity,
              detail=rep.reporter)
    ]  # fmt: skip
    chance = np.array([0.2, *params.investigate])[np.maximum(rep.severity, 0)]
    pick = np.flatnonzero(rng.random(len(rep.child)) < chance)
    child = rep.child[pick]
    opened = rep.recorded[pick] + uniform_s(0.5, 10.0, len(pick), rng)
    allegation = detail_codes(s.ALLEGATIONS, choice(rng, ALLEGATION_MIX, len(pick)))
    out.append(block("welfare.investigation_opened", child, opened,
                     rec.at("welfare", child, opened), detail=allegation))  # fmt: skip
    out.extend(_findings(params, child, opened, rep.level[pick], rep.noise[pick], rec, rng))
    return out


def _findings(
    params: StrainParams, child: IntArray, opened: IntArray, level: IntArray,
    noise: BoolArray, rec: Recorder, rng: Rng,
) -> list[EventBlock]:  # fmt: skip
    n = len(child)
    a, b = params.substantiate
    p = np.where(noise, params.noise_substantiated, 1 / (1 + np.exp(-(a + b * level))))
    substantiated = rng.random(n) < p
    inconclusive = ~substantiated & (rng.random(n) < params.inconclusive_share)
    kind = np.select([substantiated, inconclusive], [0, 2], 1)
    serious = np.clip(np.rint(level / 4 + 0.6 * rng.standard_normal(n)), 0, 2)
    severity = np.select(
        [substantiated, inconclusive], [serious, rng.random(n) < 0.5], rng.random(n) < 0.3
    )
    severity = np.where(~substantiated & (rng.random(n) < 0.3), -1, severity).astype(np.int64)
    decided = opened + uniform_s(20.0, 90.0, n, rng)
    recorded = rec.at("welfare", child, decided)
    out = [block("welfare.finding", child, decided, recorded, severity=severity,
                 detail=detail_codes(s.FINDINGS, kind))]  # fmt: skip
    case = np.flatnonzero(substantiated & (rng.random(n) < params.case_share))
    out.extend(case_blocks(params, child[case], recorded[case], rec, rng))
    return out


def case_blocks(
    params: StrainParams, child: IntArray, after: IntArray, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """A case opened within a week of ``after`` and closed some months later."""
    n = len(child)
    opened = after + uniform_s(0.0, 7.0, n, rng)
    low, high = params.case_months
    closed = opened + uniform_s(low * MONTH / DAY, high * MONTH / DAY, n, rng)
    return [
        block("welfare.case_opened", child, opened, rec.at("welfare", child, opened)),
        block("welfare.case_closed", child, closed, rec.at("welfare", child, closed)),
    ]


def outcome_blocks(
    params: StrainParams, drawn: OutcomeDraws, removals: Removals, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """The outcome events themselves and everything tied to them (all at or after)."""
    out = _removal_blocks(params, drawn, removals, rec, rng)
    for kind, make in ((FINDING, _finding_trail), (RESCUE, _rescue_trail)):
        pick = drawn.kind == kind
        out.extend(make(params, drawn.child[pick], drawn.time[pick], rec, rng))
    pick = drawn.kind == INJURY
    out.extend(_injury_trail(drawn.child[pick], drawn.time[pick], drawn.severity[pick], rec, rng))
    return out


def _urgent(
    event_type: str, child: IntArray, occurred: IntArray, rec: Recorder, **columns: object
) -> EventBlock:
    recorded = rec.at("outcome", child, occurred, urgent=True)
    return block(event_type, child, occurred, recorded, tail=False, **columns)  # type: ignore[arg-type]


def _removal_blocks(
    params: StrainParams, drawn: OutcomeDraws, rem: Removals, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    pick = drawn.kind == 0
    out = [_urgent("welfare.emergency_removal", drawn.child[pick], drawn.time[pick], rec,
                   severity=drawn.severity[pick])]  # fmt: skip
    for foster, kind in (
        (True, "welfare.foster_placement"),
        (False, "welfare.institution_placement"),
    ):
        chosen = rem.foster == foster
        at = rem.time[chosen] + uniform_s(0.0, 2.0, int(chosen.sum()), rng)
        out.append(_urgent(kind, rem.child[chosen], at, rec))
    opened = rem.time + uniform_s(0.0, 3.0, len(rem.child), rng)
    allegation = detail_codes(s.ALLEGATIONS, choice(rng, SERIOUS, len(rem.child)))
    out.append(_urgent("welfare.investigation_opened", rem.child, opened, rec, detail=allegation))
    out.append(
        _urgent("welfare.case_opened", rem.child, rem.time + uniform_s(0, 5, len(opened), rng), rec)
    )
    out.extend(_care_ends(rem, rec, rng))
    return out


def _care_ends(rem: Removals, rec: Recorder, rng: Rng) -> list[EventBlock]:
    """State guardianship, reunification or adoption, the case's close, guardians back."""
    state = rem.state_guardian
    when = rem.time[state] + uniform_s(30.0, 180.0, int(state.sum()), rng)
    recorded = rec.at("welfare", rem.child[state], when)
    out = [
        block("welfare.guardianship_change", rem.child[state], when, recorded, detail="state",
              tail=False)
    ]  # fmt: skip
    for end_kind, event_type in ((REUNIFY, "welfare.reunification"), (ADOPT, "welfare.adoption")):
        pick = (rem.end_kind == end_kind) & (rem.end_at < NEVER)
        child, at = rem.child[pick], rem.end_at[pick]
        out.append(block(event_type, child, at, rec.at("welfare", child, at), tail=False))
        closed = at + uniform_s(0.0, 60.0, len(at), rng)
        out.append(block("welfare.case_closed", child, closed, rec.at("welfare", child, closed)))
        back = state[pick] | (end_kind == ADOPT)
        out.append(block("welfare.guardianship_change", child[back], at[back],
                         rec.at("welfare", child[back], at[back]), detail="parent"))  # fmt: skip
    return out


def _finding_trail(
    params: StrainParams, child: IntArray, time: IntArray, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    """The report after the incident, the investigation, the substantiated severity-3
    finding (occurred at the incident, entered 10-30 days later), maybe a case."""
    n = len(child)
    reported = time + uniform_s(0.0, 3.0, n, rng)
    reporter = np.array([DETAIL_CODE[c] for c in OUTCOME_REPORTERS])[
        choice(rng, OUTCOME_REPORTER_MIX, n)
    ]
    report = _urgent("report.concern", child, reported, rec, detail=reporter,
                     severity=np.where(rng.random(n) < 0.7, 3, 2))  # fmt: skip
    opened = report.recorded + uniform_s(0.0, 2.0, n, rng)
    low, high = params.finding_days
    entered = rec.in_export(time, np.maximum(time + uniform_s(low, high, n, rng), opened + DAY))
    allegation = detail_codes(s.ALLEGATIONS, choice(rng, SERIOUS, n))
    return [
        report,
        _urgent("welfare.investigation_opened", child, opened, rec, detail=allegation),
        block("welfare.finding", child, time, entered, severity=np.full(n, 3),
              detail="substantiated", tail=False),
        *case_blocks(params, child, entered, rec, rng),
    ]  # fmt: skip


def _rescue_trail(
    params: StrainParams, child: IntArray, time: IntArray, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    opened = time + uniform_s(0.0, 5.0, len(child), rng)
    return [
        _urgent("police.rescue", child, time, rec),
        _urgent("welfare.investigation_opened", child, opened, rec, detail="exploitation"),
    ]


def _injury_trail(
    child: IntArray, time: IntArray, severity: IntArray, rec: Recorder, rng: Rng
) -> list[EventBlock]:
    n = len(child)
    reported = time + uniform_s(0.0, 2.0, n, rng)
    report = _urgent("report.concern", child, reported, rec, severity=severity,
                     detail="hospital")  # fmt: skip
    opened = report.recorded + uniform_s(0.0, 3.0, n, rng)
    return [
        _urgent("health.injury", child, time, rec, severity=severity, detail="suspicious"),
        report,
        _urgent("welfare.investigation_opened", child, opened, rec, detail="physical"),
    ]
