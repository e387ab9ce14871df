"""Observed signals: what schools, hospitals, neighbours, police and child directors see.

Why: in the strain world nothing is observed directly; every record is emitted from the
realised strain path through a source with its own visibility. Signals rise with strain
log-linearly (``exp(coef x strain)``), while the outcome climbs at a threshold, so a
linear count of signals is never the exact risk. A household's visibility thins what
its sources see, and noise reporters file reports that have nothing to do with strain.

How: child-level signals are drawn per block of children as (W, nb) rate matrices: one
uniform per child-week against the summed rate of every kind (at most one such signal
a child-week), the kind of a hit in proportion to its rate. Household-level signals
(home visits, police calls, assistance, noise reports) are drawn the same way per
household-week and copied to the children at home.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import WEEK, EventBlock, FloatArray, IntArray, Rng, block, choice
from features.synth.recording import uniform_s
from features.worlds.strain.followup import Reports, make_reports, report_severity
from features.worlds.strain.params import INACTIVE, N_BANDS, StrainParams
from features.worlds.strain.population import Population
from features.worlds.strain.recording import Recorder
from features.worlds.strain.school import SchoolPlan, dropout_times, school_masks

BLOCK = 8192
MASKS = ("any", "school", "kinder")


@dataclass(frozen=True)
class Hits:
    """Signals drawn: child, time (s), kind (index into the kinds), strain at the time."""

    child: IntArray
    time: IntArray
    kind: IntArray
    level: IntArray


@dataclass(frozen=True)
class Signals:
    """Every child-level signal's events, the reports among them, and dropout times."""

    blocks: list[EventBlock]
    reports: list[Reports]
    dropout_s: IntArray


def kind_tables(params: StrainParams) -> FloatArray:
    """(K, (N_BANDS + 1) x L) rate of each kind by band x L + strain (before visibility)."""
    level = np.arange(params.levels)
    out = np.zeros((len(params.signal_kinds), N_BANDS + 1, params.levels))
    for i, kind in enumerate(params.signal_kinds):
        age = np.array([*kind.age_rr, 0.0])
        out[i] = kind.per_week * age[:, None] * np.exp(kind.strain_coef * level)[None, :]
    return out.reshape(len(params.signal_kinds), -1)


def child_signals(
    params: StrainParams, pop: Population, band: np.ndarray, strain: np.ndarray,
    plan: SchoolPlan, rec: Recorder, rng: Rng,
) -> Signals:  # fmt: skip
    """Every child-level signal; ``strain`` is (W, n) strain at home (0 while in care)."""
    tables = kind_tables(params)
    vis = pop.hh_visibility[pop.unit]
    dropout = np.zeros(pop.n_children, dtype=np.int64)
    parts: list[Hits] = []
    for lo in range(0, pop.n_children, BLOCK):
        rows = np.arange(lo, min(lo + BLOCK, pop.n_children))
        dropout[rows] = dropout_times(params, plan, rows, strain[:, rows], rng)
        masks = (None, *school_masks(plan, rows, dropout[rows], strain.shape[0]))
        code = band[:, rows].astype(np.intp) * params.levels + strain[:, rows]
        parts.append(_draw(params, tables, code, vis[rows], masks, rows, rng))
    hits = Hits(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Hits.__dataclass_fields__)
    )
    blocks, reports = emit_child_signals(params, pop, hits, rec, rng)
    return Signals(blocks, reports, dropout)


def _draw(
    params: StrainParams, tables: FloatArray, code: np.ndarray, vis: FloatArray,
    masks: tuple[np.ndarray | None, ...], rows: IntArray, rng: Rng,
) -> Hits:  # fmt: skip
    """One block's hits: one uniform per child-week against the summed rate."""
    kinds = params.signal_kinds
    weight = np.stack([vis**k.vis_power for k in kinds], axis=1)  # (nb, K)
    mask_of = np.array([MASKS.index(k.where) for k in kinds])
    total = np.zeros(code.shape, dtype=np.float32)
    for k in range(len(kinds)):
        rate = tables[k][code] * weight[None, :, k]
        mask = masks[mask_of[k]]
        total += (rate if mask is None else rate * mask).astype(np.float32)
    week, col = np.nonzero(rng.random(code.shape, dtype=np.float32) < -np.expm1(-total))
    cell = code[week, col]
    per_kind = tables[:, cell].T * weight[col]
    for k in range(len(kinds)):
        mask = masks[mask_of[k]]
        if mask is not None:
            per_kind[:, k] *= mask[week, col]
    cum = np.cumsum(per_kind, axis=1)
    kind = np.minimum(
        (cum <= rng.random(len(col))[:, None] * cum[:, -1:]).sum(axis=1), len(kinds) - 1
    )
    time = week * WEEK + np.floor(rng.random(len(col)) * WEEK).astype(np.int64)
    return Hits(rows[col], time.astype(np.int64), kind, (cell % params.levels).astype(np.int64))


def emit_child_signals(
    params: StrainParams, pop: Population, hits: Hits, rec: Recorder, rng: Rng
) -> tuple[list[EventBlock], list[Reports]]:
    """Events of each kind of child-level signal, with what some of them lead to."""
    time = np.clip(hits.time, pop.birth_s[hits.child], pop.adult_s[hits.child] - 1)
    blocks: list[EventBlock] = []
    reports: list[Reports] = []
    for k, kind in enumerate(params.signal_kinds):
        pick = hits.kind == k
        child, at, level = hits.child[pick], time[pick], hits.level[pick]
        if kind.event_type == "report.concern":
            severity = report_severity(params, level, rng)
            recorded = rec.at("report", child, at)
            reports.append(make_reports(child, at, recorded, severity, str(kind.detail), level))
            continue
        made, made_reports = _signal_events(params, kind.name, child, at, level, rec, rng)
        blocks.extend(made)
        reports.extend(made_reports)
    return blocks, reports


def _signal_events(
    params: StrainParams, name: str, child: IntArray, at: IntArray, level: IntArray,
    rec: Recorder, rng: Rng,
) -> tuple[list[EventBlock], list[Reports]]:  # fmt: skip
    n = len(child)
    kind = next(k for k in params.signal_kinds if k.name == name)
    source = kind.event_type.split(".")[0]
    recorded = rec.at(source, child, at)
    severity = None
    if name == "injury_accidental":
        severity = choice(rng, (0.7, 0.25, 0.05), n) + 1
    elif name == "injury_unknown":
        severity = choice(rng, (0.6, 0.4), n) + 1
    elif name == "injury_minor":
        severity = np.ones(n, dtype=np.int64)
    elif name == "malnutrition":
        severity = np.clip(1 + np.floor((level + 2 * rng.standard_normal(n)) / 5), 1, 3)
    made = [block(kind.event_type, child, at, recorded, severity=severity, detail=kind.detail)]
    return made, _consequences(params, name, child, at, level, rec, rng, made)


def _consequences(
    params: StrainParams, name: str, child: IntArray, at: IntArray, level: IntArray,
    rec: Recorder, rng: Rng, made: list[EventBlock],
) -> list[Reports]:  # fmt: skip
    """Hospital reports of injuries, runaways found, street children reported."""
    n = len(child)
    share = {"injury_minor": params.injury_report_share, "injury_unknown": 0.1,
             "street_child": params.street_report_share}.get(name, 0.0)  # fmt: skip
    if name == "runaway":
        found = rng.random(n) < params.found_share
        back = at[found] + uniform_s(0.5, 10.0, int(found.sum()), rng)
        made.append(block("police.found", child[found], back, rec.at("police", child[found], back)))
    pick = rng.random(n) < share
    if not pick.any():
        return []
    when = at[pick] + uniform_s(0.0, 2.0, int(pick.sum()), rng)
    reporter = "police" if name == "street_child" else "hospital"
    severity = report_severity(params, level[pick], rng)
    recorded = rec.at("report", child[pick], when)
    return [make_reports(child[pick], when, recorded, severity, reporter, level[pick])]


def strain_at_home(
    levels: np.ndarray, unit: IntArray, care: np.ndarray, band: np.ndarray
) -> np.ndarray:
    """(W, n) int8: the household's level while the child is at home and alive, else 0."""
    strain = levels[:, unit]
    strain[care | (band == INACTIVE)] = 0
    return strain
