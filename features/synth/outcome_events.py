"""Outcome events and the events tied to them, all at or after the outcome itself.

An emergency removal is followed by a placement, a case and an investigation, and
months later by reunification or adoption; a substantiated severity-3 finding (occurred
at the incident, entered 5-45 days later) by the report and investigation that led to
it; a suspicious injury by the hospital's report. The one exception is the missing
report of an abducted child: it occurred up to 3 days before the rescue, but is only
recorded once the rescue has happened, so no as-of date sees it before the outcome.
"""

from __future__ import annotations

import numpy as np

from features import schema as s
from features.synth.arrays import (
    DAY,
    DETAIL_CODE,
    EventBlock,
    IntArray,
    Rng,
    block,
    choice,
    detail_codes,
)
from features.synth.ordinary_events import case_blocks
from features.synth.params import SynthParams
from features.synth.recording import delay, uniform_s
from features.synth.weekly import ADOPT, FINDING, INJURY, RESCUE, REUNIFY, OutcomeDraws, Removals

FINDING_REPORTERS = ("police", "hospital", "school", "neighbor", "community", "hotline", "family")
FINDING_REPORTER_PROBS = (0.25, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05)
SERIOUS_ALLEGATIONS = ("physical", "sexual", "neglect", "exploitation")
SERIOUS_ALLEGATION_PROBS = (0.45, 0.2, 0.25, 0.1)
GUARDIAN = {code: i for i, code in enumerate(s.GUARDIANS)}


def outcome_blocks(
    params: SynthParams, draws: OutcomeDraws, removals: Removals, birth_s: IntArray, rng: Rng
) -> list[EventBlock]:
    """The outcome events themselves and everything tied to them."""
    out = _removal_blocks(params, removals, rng)
    pick = draws.kind == FINDING
    out.extend(_finding_blocks(params, draws.child[pick], draws.time[pick], rng))
    pick = draws.kind == RESCUE
    out.extend(_rescue_blocks(params, draws.child[pick], draws.time[pick], birth_s, rng))
    pick = draws.kind == INJURY
    out.extend(
        _injury_blocks(params, draws.child[pick], draws.time[pick], draws.severity[pick], rng)
    )
    removal_rows = draws.kind == 0
    t = draws.time[removal_rows]
    out.append(
        block("welfare.emergency_removal", draws.child[removal_rows], t,
              t + delay(params, "outcome", len(t), rng), severity=draws.severity[removal_rows],
              tail=False)
    )  # fmt: skip
    return out


def _after(
    params: SynthParams, source: str, time: IntArray, hi_days: float, rng: Rng
) -> tuple[IntArray, IntArray]:
    """(occurred, recorded) of a tied event 0..hi_days after ``time``."""
    occurred = time + uniform_s(0.0, hi_days, len(time), rng)
    return occurred, occurred + delay(params, source, len(time), rng)


def _guardian(
    child: IntArray, time: IntArray, code: str, params: SynthParams, rng: Rng
) -> EventBlock:
    recorded = time + delay(params, "welfare", len(child), rng)
    return block("welfare.guardianship_change", child, time, recorded, detail=code, tail=False)


def _removal_blocks(params: SynthParams, rem: Removals, rng: Rng) -> list[EventBlock]:
    out: list[EventBlock] = []
    for foster, kind in (
        (True, "welfare.foster_placement"),
        (False, "welfare.institution_placement"),
    ):
        pick = rem.foster == foster
        occurred, recorded = _after(params, "welfare", rem.time[pick], 2.0, rng)
        out.append(block(kind, rem.child[pick], occurred, recorded, tail=False))
    occurred, recorded = _after(params, "welfare", rem.time, 3.0, rng)
    allegation = choice(rng, SERIOUS_ALLEGATION_PROBS, len(rem.child))
    out.append(
        block("welfare.investigation_opened", rem.child, occurred, recorded, tail=False,
              detail=detail_codes(s.ALLEGATIONS, _allegation_index(allegation)))
    )  # fmt: skip
    opened, recorded = _after(params, "welfare", rem.time, 3.0, rng)
    out.append(block("welfare.case_opened", rem.child, opened, recorded, tail=False))
    state = rem.state_guardian
    when = rem.time[state] + uniform_s(30.0, 180.0, int(state.sum()), rng)
    out.append(_guardian(rem.child[state], when, "state", params, rng))
    for end_kind, event_type in ((REUNIFY, "welfare.reunification"), (ADOPT, "welfare.adoption")):
        pick = rem.end_kind == end_kind
        child, at = rem.child[pick], rem.end_at[pick]
        out.append(block(event_type, child, at, at + delay(params, "welfare", len(at), rng)))
        closed, recorded = _after(params, "welfare", at, 60.0, rng)
        out.append(block("welfare.case_closed", child, closed, recorded))
        back = state[pick] | (end_kind == ADOPT)
        out.append(_guardian(child[back], at[back], "parent", params, rng))
    return out


def _allegation_index(serious: IntArray) -> IntArray:
    table = np.array([s.ALLEGATIONS.index(code) for code in SERIOUS_ALLEGATIONS])
    return table[serious]


def _finding_blocks(
    params: SynthParams, child: IntArray, time: IntArray, rng: Rng
) -> list[EventBlock]:
    n = len(child)
    reported, report_rec = _after(params, "report", time, 3.0, rng)
    reporter = np.array([DETAIL_CODE[c] for c in FINDING_REPORTERS])[
        choice(rng, FINDING_REPORTER_PROBS, n)
    ]
    severity = np.where(rng.random(n) < 0.7, 3, 2)
    opened, opened_rec = _after(params, "welfare", report_rec, 2.0, rng)
    low, high = params.finding_delay_days
    # entered 5-45 days after the incident, and never before the investigation began
    entered = np.maximum(time + uniform_s(low, high, n, rng), opened + DAY)
    allegation = _allegation_index(choice(rng, SERIOUS_ALLEGATION_PROBS, n))
    return [
        block("report.concern", child, reported, report_rec, severity=severity, detail=reporter,
              tail=False),
        block("welfare.investigation_opened", child, opened, opened_rec, tail=False,
              detail=detail_codes(s.ALLEGATIONS, allegation)),
        block("welfare.finding", child, time, entered, severity=np.full(n, 3),
              detail="substantiated", tail=False),
        *case_blocks(params, child, entered, rng),
    ]  # fmt: skip


def _rescue_blocks(
    params: SynthParams, child: IntArray, time: IntArray, birth_s: IntArray, rng: Rng
) -> list[EventBlock]:
    n = len(child)
    rescue = block(
        "police.rescue", child, time, time + delay(params, "outcome", n, rng), tail=False
    )
    went_missing = np.maximum(time - uniform_s(0.0, 3.0, n, rng), birth_s[child])
    missing_rec = time + uniform_s(0.0, 1.0, n, rng)
    missing = block("police.missing_report", child, went_missing, missing_rec, tail=False)
    opened, recorded = _after(params, "welfare", time, 5.0, rng)
    inquiry = block("welfare.investigation_opened", child, opened, recorded, detail="exploitation",
                    tail=False)  # fmt: skip
    return [rescue, missing, inquiry]


def _injury_blocks(
    params: SynthParams, child: IntArray, time: IntArray, severity: IntArray, rng: Rng
) -> list[EventBlock]:
    n = len(child)
    injury = block("health.injury", child, time, time + delay(params, "outcome", n, rng),
                   severity=severity, detail="suspicious", tail=False)  # fmt: skip
    reported, report_rec = _after(params, "report", time, 2.0, rng)
    report = block("report.concern", child, reported, report_rec, severity=severity,
                   detail="hospital", tail=False)  # fmt: skip
    opened, opened_rec = _after(params, "welfare", report_rec, 3.0, rng)
    inquiry = block("welfare.investigation_opened", child, opened, opened_rec, detail="physical",
                    tail=False)  # fmt: skip
    return [injury, report, inquiry]
