"""Ordinary events drawn from weekly rates over the realised crisis path.

For each child-week the rates of all ordinary kinds are summed (at most one ordinary
event per child-week: these rates are small), a hit is drawn from the total, and the
kind is chosen in proportion to its rate. Per group, every kind's rate is
child factor x table[age band, crisis], so a child's total over kinds is one small
matrix product, gathered by each week's (band, crisis) code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import schema as s
from features.synth.arrays import WEEK, BoolArray, FloatArray, IntArray, Rng, concat_fields
from features.synth.latent import Latent
from features.synth.params import N_BANDS, OrdinaryKind, SynthParams
from features.synth.population import Population

GROUPS = ("routine", "trouble", "registered")
ROWS_PER_BLOCK = 4096
HUKOU_NONLOCAL = s.HUKOU_VALUES.index("nonlocal")
HUKOU_NONE = s.HUKOU_VALUES.index("none")


@dataclass(frozen=True)
class OrdinaryHits:
    """One row per ordinary event drawn: child, time (s), kind index, crisis at the time."""

    child: IntArray
    time: IntArray
    kind: IntArray
    crisis: BoolArray


def reporting_bias(params: SynthParams, pop: Population) -> FloatArray:
    """Per child: how much less schools, kindergartens and hospitals see this family."""
    unit = pop.unit
    bias = np.where(pop.hh_area[unit] == 2, params.bias_outlying, 1.0)
    bias = bias * np.where(pop.hh_hukou[unit] == HUKOU_NONLOCAL, params.bias_nonlocal, 1.0)
    return bias * np.where(pop.hh_hukou[unit] == HUKOU_NONE, params.bias_no_hukou, 1.0)


def _factors(params: SynthParams, pop: Population) -> FloatArray:
    """(n, K) child factor of each kind: base rate x risk term x reporting bias."""
    kinds = params.ordinary_kinds
    bias = reporting_bias(params, pop)
    base = np.array([k.per_week for k in kinds])
    coef = np.array([k.risk_coef for k in kinds])
    biased = np.array([k.biased for k in kinds])
    factor = base[None, :] * np.exp(np.outer(pop.risk, coef))
    return np.where(biased[None, :], factor * bias[:, None], factor)


def _tables(kinds: tuple[OrdinaryKind, ...]) -> FloatArray:
    """(K, 12) rate ratio by code = band x 2 + crisis; zero for the inactive band."""
    table = np.zeros((len(kinds), (N_BANDS + 1) * 2))
    for i, kind in enumerate(kinds):
        for band in range(N_BANDS):
            table[i, 2 * band] = kind.age_rr[band]
            table[i, 2 * band + 1] = kind.age_rr[band] * kind.crisis_rr
    return table


@dataclass(frozen=True)
class _RateModel:
    """The pieces of every ordinary kind's rate, shared by all blocks of children."""

    factors: FloatArray  # (n, K) child factor per kind
    tables: FloatArray  # (K, 12) rate ratio per (band, crisis) code
    group: IntArray  # (K,) index into GROUPS
    trouble: np.ndarray  # (W, n_h) float32 exp(trouble_stress_coef x family stress)
    registered: np.ndarray  # (W, n) bool


def draw_ordinary(
    params: SynthParams, pop: Population, latent: Latent, registered: np.ndarray, rng: Rng
) -> OrdinaryHits:
    """Every ordinary event of the chunk (kind indices into params.ordinary_kinds)."""
    model = _RateModel(
        factors=_factors(params, pop),
        tables=_tables(params.ordinary_kinds),
        group=np.array([GROUPS.index(k.group) for k in params.ordinary_kinds]),
        trouble=np.exp(params.trouble_stress_coef * latent.stress).astype(np.float32),
        registered=registered,
    )
    parts: list[OrdinaryHits] = []
    for lo in range(0, pop.n_children, ROWS_PER_BLOCK):
        rows = np.arange(lo, min(lo + ROWS_PER_BLOCK, pop.n_children))
        parts.append(_draw_rows(model, rows, latent, rng))
    return concat_fields(OrdinaryHits, parts)


def _draw_rows(model: _RateModel, rows: IntArray, latent: Latent, rng: Rng) -> OrdinaryHits:
    """Hits of some children: one uniform per child-week against the total rate."""
    unit = latent.unit[rows]
    crisis = latent.crisis[:, unit]
    code = latent.band[:, rows].astype(np.intp) * 2 + crisis
    per_code = [
        (model.factors[rows][:, model.group == g] @ model.tables[model.group == g]).T.astype(
            np.float32
        )
        for g in range(len(GROUPS))
    ]
    trouble = model.trouble[:, unit]
    total = np.take_along_axis(per_code[0], code, axis=0)
    total += np.take_along_axis(per_code[1], code, axis=0) * trouble
    registered = model.registered[:, rows]
    cols = np.flatnonzero(registered.any(axis=0))  # few children are ever registered
    if cols.size:
        extra = np.take_along_axis(per_code[2][:, cols], code[:, cols], axis=0)
        total[:, cols] += extra * registered[:, cols]
    u = rng.random(code.shape, dtype=np.float32)
    hit_w, hit_r = np.nonzero(u < -np.expm1(-total))
    hit_code = code[hit_w, hit_r]
    mods = np.stack([np.ones(len(hit_w)), trouble[hit_w, hit_r], registered[hit_w, hit_r]], axis=1)
    per_kind = model.factors[rows[hit_r]] * model.tables[:, hit_code].T * mods[:, model.group]
    cum = np.cumsum(per_kind, axis=1)
    pick = rng.random(len(hit_r))[:, None] * cum[:, -1:]
    kind = np.minimum((cum <= pick).sum(axis=1), len(model.group) - 1)
    time = hit_w * WEEK + np.floor(rng.random(len(hit_r)) * WEEK).astype(np.int64)
    return OrdinaryHits(rows[hit_r], time.astype(np.int64), kind, crisis[hit_w, hit_r])


def kind_rows(params: SynthParams, hits: OrdinaryHits, name: str) -> IntArray:
    """Indices of the hits of the named ordinary kind."""
    names = [k.name for k in params.ordinary_kinds]
    return np.flatnonzero(hits.kind == names.index(name))
