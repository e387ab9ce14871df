"""Ordinary hits become events: marks (severity, detail, amount) and what follows them.

Reports (drawn, or following a DV call, a worrying home visit, a street child, a minor
suspicious injury) may be investigated; investigations end in a finding (never a
substantiated severity-3 one: that is an outcome), substantiated findings may open a
case that closes months later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import schema as s
from features.synth.arrays import (
    DAY,
    NEVER,
    YEAR,
    BoolArray,
    EventBlock,
    FloatArray,
    IntArray,
    Rng,
    block,
    choice,
    concat_fields,
    detail_codes,
)
from features.synth.ordinary import OrdinaryHits, kind_rows
from features.synth.params import SynthParams
from features.synth.recording import delay, uniform_s

REPORTER = {code: i for i, code in enumerate(s.REPORTERS)}
INJURY_SEVERITY = (0.7, 0.25, 0.05)


@dataclass(frozen=True)
class Reports:
    """Reports of concern: child, time, true severity 1-3, reporter index, family in crisis."""

    child: IntArray
    time: IntArray
    severity: IntArray
    reporter: IntArray
    crisis: BoolArray


def severity_by_crisis(
    calm: tuple[float, ...], crisis_probs: tuple[float, ...], crisis: BoolArray, low: int, rng: Rng
) -> IntArray:
    """Severity from ``low`` up, with the crisis distribution where the family is in crisis."""
    n = len(crisis)
    return (
        np.where(crisis, choice(rng, crisis_probs, n), choice(rng, calm, n)).astype(np.int64) + low
    )


def _recorded_severity(params: SynthParams, severity: IntArray, rng: Rng) -> IntArray:
    """The severity as recorded: a small share is not recorded (null)."""
    return np.where(rng.random(len(severity)) < params.missing_mark_share, -1, severity)


def ordinary_blocks(
    params: SynthParams, hits: OrdinaryHits, rng: Rng
) -> tuple[list[EventBlock], IntArray, IntArray]:
    """Events of every ordinary hit; also (child, time) of candidate dropouts."""
    blocks: list[EventBlock] = []
    reports = [_drawn_reports(params, hits, rng)]
    reports.append(_home_visits(params, hits, blocks, rng))
    reports.append(_police(params, hits, blocks, rng))
    reports.append(_health(params, hits, blocks, rng))
    _assistance(params, hits, blocks, rng)
    all_reports = concat_fields(Reports, reports)
    blocks.extend(report_blocks(params, all_reports, rng))
    drop = kind_rows(params, hits, "dropout")
    return blocks, hits.child[drop], hits.time[drop]


def _drawn_reports(params: SynthParams, hits: OrdinaryHits, rng: Rng) -> Reports:
    parts = [(kind_rows(params, hits, f"report_{who}"), REPORTER[who]) for who in s.REPORTERS]
    rows = np.concatenate([r for r, _ in parts])
    reporter = np.concatenate([np.full(len(r), who, dtype=np.int64) for r, who in parts])
    crisis = hits.crisis[rows]
    severity = severity_by_crisis(
        params.report_severity_calm, params.report_severity_crisis, crisis, 1, rng
    )
    return Reports(hits.child[rows], hits.time[rows], severity, reporter, crisis)


def _follow_report(
    params: SynthParams, child: IntArray, time: IntArray, crisis: BoolArray, who: str, rng: Rng
) -> Reports:
    """A report by ``who`` within a day after an event, as serious as the family's state."""
    severity = severity_by_crisis(
        params.report_severity_calm, params.report_severity_crisis, crisis, 1, rng
    )
    when = time + uniform_s(0.0, 1.0, len(child), rng)
    return Reports(child, when, severity, np.full(len(child), REPORTER[who]), crisis)


def _home_visits(
    params: SynthParams, hits: OrdinaryHits, blocks: list[EventBlock], rng: Rng
) -> Reports:
    names = ("home_visit", "home_visit_concern", "home_visit_registered")
    rows = np.concatenate([kind_rows(params, hits, name) for name in names])
    child, time, crisis = hits.child[rows], hits.time[rows], hits.crisis[rows]
    severity = severity_by_crisis(
        params.visit_severity_calm, params.visit_severity_crisis, crisis, 0, rng
    )
    recorded = time + delay(params, "home_visit", len(rows), rng)
    sev = _recorded_severity(params, severity, rng)
    blocks.append(block("community.home_visit", child, time, recorded, severity=sev))
    worry = (severity == 3) & (rng.random(len(rows)) < params.visit_report_share)
    return _follow_report(params, child[worry], time[worry], crisis[worry], "community", rng)


def _police(params: SynthParams, hits: OrdinaryHits, blocks: list[EventBlock], rng: Rng) -> Reports:
    dv = kind_rows(params, hits, "dv_call")
    child, time, crisis = hits.child[dv], hits.time[dv], hits.crisis[dv]
    severity = severity_by_crisis(
        params.report_severity_calm, params.report_severity_crisis, crisis, 1, rng
    )
    recorded = time + delay(params, "police", len(dv), rng)
    blocks.append(
        block("police.domestic_violence_call", child, time, recorded,
              severity=_recorded_severity(params, severity, rng))
    )  # fmt: skip
    follow = rng.random(len(dv)) < params.dv_report_share
    reports = [_follow_report(params, child[follow], time[follow], crisis[follow], "police", rng)]
    st = kind_rows(params, hits, "street_child")
    blocks.append(_simple("police.street_child_found", hits, st, "police", params, rng))
    street = st[rng.random(len(st)) < params.street_report_share]
    reports.append(
        _follow_report(params, hits.child[street], hits.time[street], hits.crisis[street],
                       "police", rng)
    )  # fmt: skip
    blocks.extend(_missing(params, hits, rng))
    return concat_fields(Reports, reports)


def _simple(
    event_type: str, hits: OrdinaryHits, rows: IntArray, source: str, params: SynthParams, rng: Rng
) -> EventBlock:
    time = hits.time[rows]
    return block(event_type, hits.child[rows], time, time + delay(params, source, len(rows), rng))


def _missing(params: SynthParams, hits: OrdinaryHits, rng: Rng) -> list[EventBlock]:
    """Runaways and lost children: a missing report, then (mostly) found hours-days later."""
    rows = kind_rows(params, hits, "missing_runaway")
    missing = _simple("police.missing_report", hits, rows, "police", params, rng)
    found = rows[rng.random(len(rows)) < params.found_share]
    when = hits.time[found] + uniform_s(1 / 24, 5.0, len(found), rng)
    recorded = when + delay(params, "police", len(found), rng)
    return [missing, block("police.found", hits.child[found], when, recorded)]


def _health(params: SynthParams, hits: OrdinaryHits, blocks: list[EventBlock], rng: Rng) -> Reports:
    blocks.append(_simple("health.visit", hits, kind_rows(params, hits, "health_visit"),
                          "health", params, rng))  # fmt: skip
    blocks.append(_simple("health.mental_health", hits, kind_rows(params, hits, "mental_health"),
                          "health", params, rng))  # fmt: skip
    for name, detail in (("injury_accidental", "accidental"), ("injury_unknown", "unknown")):
        rows = kind_rows(params, hits, name)
        severity = choice(rng, INJURY_SEVERITY, len(rows)) + 1
        blocks.append(_marked("health.injury", hits, rows, params, rng, severity, detail))
    rows = kind_rows(params, hits, "malnutrition")
    severity = severity_by_crisis(
        params.report_severity_calm, params.report_severity_crisis, hits.crisis[rows], 1, rng
    )
    blocks.append(_marked("health.malnutrition", hits, rows, params, rng, severity, None))
    rows = kind_rows(params, hits, "injury_suspicious_minor")
    severity = np.ones(len(rows), dtype=np.int64)
    blocks.append(_marked("health.injury", hits, rows, params, rng, severity, "suspicious"))
    follow = rows[rng.random(len(rows)) < params.injury_report_share]
    return _follow_report(
        params, hits.child[follow], hits.time[follow], hits.crisis[follow], "hospital", rng
    )


def _marked(
    event_type: str,
    hits: OrdinaryHits,
    rows: IntArray,
    params: SynthParams,
    rng: Rng,
    severity: IntArray,
    detail: str | None,
) -> EventBlock:
    time = hits.time[rows]
    recorded = time + delay(params, "health", len(rows), rng)
    return block(event_type, hits.child[rows], time, recorded, severity=severity, detail=detail)


def _assistance(
    params: SynthParams, hits: OrdinaryHits, blocks: list[EventBlock], rng: Rng
) -> None:
    rows = np.concatenate(
        [kind_rows(params, hits, "assistance_emergency"),
         kind_rows(params, hits, "assistance_registered")]
    )  # fmt: skip
    blocks.append(
        block("social_aid.temporary_assistance", hits.child[rows], hits.time[rows],
              hits.time[rows] + delay(params, "social_aid", len(rows), rng),
              amount=assistance_yuan(params, len(rows), rng))
    )  # fmt: skip


def assistance_yuan(params: SynthParams, n: int, rng: Rng) -> FloatArray:
    """Temporary assistance in yuan: log-normal, rounded to 10 yuan, at least 200."""
    yuan = params.assistance_yuan_median * np.exp(
        params.assistance_yuan_sigma * rng.standard_normal(n)
    )
    return np.asarray(np.maximum(np.round(yuan / 10) * 10, 200.0), dtype=np.float64)


def report_blocks(params: SynthParams, reports: Reports, rng: Rng) -> list[EventBlock]:
    """The reports, and the investigations, findings and cases that follow some of them."""
    n = len(reports.child)
    recorded = reports.time + delay(params, "report", n, rng)
    out = [
        block("report.concern", reports.child, reports.time, recorded,
              severity=_recorded_severity(params, reports.severity, rng),
              detail=detail_codes(s.REPORTERS, reports.reporter))
    ]  # fmt: skip
    p = np.array(params.investigate_by_severity)[reports.severity - 1]
    inv = np.flatnonzero(rng.random(n) < p)
    child, incident, crisis = reports.child[inv], reports.time[inv], reports.crisis[inv]
    opened = recorded[inv] + uniform_s(0.0, 7.0, len(inv), rng)
    allegation = choice(rng, params.allegations, len(inv))
    out.append(
        block("welfare.investigation_opened", child, opened,
              opened + delay(params, "welfare", len(inv), rng),
              detail=detail_codes(s.ALLEGATIONS, allegation))
    )  # fmt: skip
    out.extend(_findings(params, child, incident, opened, crisis, rng))
    return out


def _findings(
    params: SynthParams,
    child: IntArray,
    incident: IntArray,
    opened: IntArray,
    crisis: BoolArray,
    rng: Rng,
) -> list[EventBlock]:
    n = len(child)
    low, high = params.finding_delay_days
    entered = opened + uniform_s(low, high, n, rng)
    p_sub = np.where(crisis, params.substantiated_crisis, params.substantiated_calm)
    u = rng.random(n)
    sub = u < p_sub
    inconclusive = ~sub & (rng.random(n) < params.inconclusive_share)
    finding = np.where(sub, 0, np.where(inconclusive, 2, 1))
    severity = np.where(
        sub,
        choice(rng, params.substantiated_severity, n),
        np.where(inconclusive, (rng.random(n) < 0.4).astype(np.int64), 0),
    )
    out = [
        block("welfare.finding", child, incident, entered, severity=severity,
              detail=detail_codes(s.FINDINGS, finding))
    ]  # fmt: skip
    case = sub & (rng.random(n) < params.case_open_share)
    out.extend(case_blocks(params, child[case], entered[case], rng))
    return out


def case_blocks(
    params: SynthParams, child: IntArray, opened: IntArray, rng: Rng
) -> list[EventBlock]:
    """A case opened at ``opened`` and closed some months later."""
    n = len(child)
    low, high = params.case_months
    closed = opened + (uniform_s(low, high, n, rng) * (YEAR / 12 / DAY)).astype(np.int64)
    return [
        block("welfare.case_opened", child, opened, opened + delay(params, "welfare", n, rng)),
        block("welfare.case_closed", child, closed, closed + delay(params, "welfare", n, rng)),
    ]


def first_per_child(child: IntArray, time: IntArray, n_children: int) -> IntArray:
    """Earliest time per child (NEVER where none)."""
    first = np.full(n_children, NEVER, dtype=np.int64)
    np.minimum.at(first, child, time)
    return first
