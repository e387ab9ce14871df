"""One child's score with its evidence: the factors behind the score and the records
behind each factor. The API and the pages both call ``explain_child``; there is no second
path from a case history to a score.

Features come from the batch's own kernels run on the household (features.household),
the explanation from the model's exact additive decomposition, compiled to arrays
(models.compiled), the records from the window bounds each value was summed over
(features.evidence). Nothing here plans a polars query or builds a pandas frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from features.contract import CaseHistories, ValidationReport
from features.deployment import Deployment
from features.household import Household, HouseholdFeatures, household_features
from features.plan import compile_plan
from features.statuses import Categorical
from models.flagging import TIERS, FlaggingPolicy
from models.riskmodel import Explanation, RiskModel
from serving.errors import NotScorableError
from serving.facts import fact, retention_note
from serving.i18n import Language


@dataclass(frozen=True)
class FactorView:
    factor: str
    features: tuple[str, ...]
    label: str
    value: Any
    log_odds: float
    points: float
    direction: Literal["raises", "lowers"]
    event_ids: tuple[str, ...]
    fact: str = ""  # the value said as a fact with its unit (serving.facts)
    note: str | None = None  # why a count can be lower than the records listed


@dataclass(frozen=True)
class RiskView:
    child_id: str
    district: str
    as_of: date
    probability: float
    score_1_20: int
    tier: str
    base_log_odds: float
    base_points: float
    factors: tuple[FactorView, ...]
    factors_total: int
    model_family: str


def store_histories(
    children: pl.DataFrame, events: pl.DataFrame, exported_at: Any, deployment: Deployment
) -> CaseHistories:
    """Case histories read back from the store (checked when they were loaded)."""
    return CaseHistories(
        children=children.lazy(),
        events=events.lazy(),
        exported_at=exported_at,
        deployment=deployment,
        source=Path("store"),
        report=ValidationReport(Path("store")),
    )


def tier_for(score: int, policy: FlaggingPolicy) -> str:
    thresholds = (policy.moderate, policy.high, policy.urgent)
    return TIERS[sum(score >= t for t in thresholds)]


def factor_label(
    model: RiskModel, features: tuple[str, ...], lang: Language, value: Any = None
) -> str:
    """A factor's features by name, in plain words ("Days since the last concern report");
    ``factor_fact`` says the child's value."""
    specs = {spec.name: spec for spec in model.specs}
    words = [
        (specs[name].description_zh if lang == "zh-CN" else specs[name].description_en)
        if name in specs
        else name
        for name in features
    ]
    return (" 与 " if lang == "zh-CN" else " & ").join(words)


def factor_fact(model: RiskModel, features: tuple[str, ...], lang: Language, value: Any) -> str:
    """A factor's value said as a fact about the child (serving.facts), the facts of an
    interaction's two features joined."""
    specs = {spec.name: spec for spec in model.specs}
    values = value if isinstance(value, list) else [value] * len(features)
    cap = model.config.days_since_cap
    said = [
        fact(specs[name], known, lang, cap) if name in specs else f"{name}: {known}"
        for name, known in zip(features, values, strict=False)
    ]
    return ("；" if lang == "zh-CN" else "; ").join(said)


def factor_note(model: RiskModel, features: tuple[str, ...], lang: Language) -> str | None:
    """Why the factor's count can be lower than the case history's records, if it can."""
    specs = {spec.name: spec for spec in model.specs}
    notes = [retention_note(specs[name], model.policy, lang) for name in features if name in specs]
    return next((note for note in notes if note), None)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Ask:
    """One child to explain: how many factors, in which language."""

    child_id: str
    lang: Language = "en"
    top: int | None = 10


def explain_child(
    model: RiskModel,
    household: Household,
    child_id: str,
    as_of: date,
    policy: FlaggingPolicy,
    lang: Language = "en",
    top: int | None = 10,
) -> RiskView:
    """Score one child of ``household`` on ``as_of`` and explain the score."""
    (view,) = explain_children(model, household, [Ask(child_id, lang, top)], as_of, policy)
    if isinstance(view, NotScorableError):
        raise view
    return view


def explain_children(
    model: RiskModel,
    household: Household,
    asks: Sequence[Ask],
    as_of: date,
    policy: FlaggingPolicy,
) -> list[RiskView | NotScorableError]:
    """Score and explain children of one household on one date: the household's features
    by the batch's kernels (features.household), the explanation from the model's
    compiled terms, each factor's records from the bounds its value was summed over."""
    found = household_features(compile_plan(model.config, model.policy), household, as_of)
    rows = {ask.child_id: found.row_of(ask.child_id) for ask in asks}
    scored = sorted({row for row in rows.values() if row is not None})
    explanation = model.explain(model.matrix_of(_values(found, scored))) if scored else None
    views: list[RiskView | NotScorableError] = []
    for ask in asks:
        row = rows[ask.child_id]
        if explanation is None or row is None:
            views.append(
                NotScorableError(
                    f"child {ask.child_id} is not in the model's population on {as_of} (the "
                    "cohort rules: age range, born by the date, records in the window)"
                )
            )
            continue
        views.append(_view(model, explanation, found, scored.index(row), row, ask, policy))
    return views


def _values(found: HouseholdFeatures, rows: list[int]) -> dict[str, Any]:
    """The features at ``rows`` as the compiled design reads them (categories as text)."""
    return {
        name: value.categories_at(rows) if isinstance(value, Categorical) else value[rows]
        for name, value in found.values.items()
    }


def _view(
    model: RiskModel,
    explanation: Explanation,
    found: HouseholdFeatures,
    index: int,
    row: int,
    ask: Ask,
    policy: FlaggingPolicy,
) -> RiskView:
    log_odds = explanation.log_odds[index]
    probability = float(model.rates(explanation)[index])
    score = int(model.ventiles.score(np.array([probability]))[0])
    order = np.argsort(-np.abs(log_odds), kind="stable")
    active = [int(i) for i in order if abs(log_odds[i]) > 1e-12]
    picked = active if ask.top is None else active[: ask.top]
    specs = {spec.name: spec for spec in model.specs}
    factors = []
    for i in picked:
        factor = explanation.factors[i]
        value = [found.value(f, row) for f in factor.features]
        one = value[0] if len(value) == 1 else value
        ids: dict[str, None] = {}
        for feature in factor.features:
            if feature in specs:
                ids.update(dict.fromkeys(found.records(ask.child_id, specs[feature])))
        factors.append(
            FactorView(
                factor=factor.name,
                features=factor.features,
                label=factor_label(model, factor.features, ask.lang, one),
                value=one,
                log_odds=float(log_odds[i]),
                points=float(explanation.points[index, i]),
                direction="raises" if log_odds[i] > 0 else "lowers",
                event_ids=tuple(ids),
                fact=factor_fact(model, factor.features, ask.lang, one),
                note=factor_note(model, factor.features, ask.lang),
            )
        )
    return RiskView(
        child_id=ask.child_id,
        district=found.district_of(ask.child_id),
        as_of=found.as_of,
        probability=probability,
        score_1_20=score,
        tier=tier_for(score, policy),
        base_log_odds=float(explanation.intercept),
        base_points=float(explanation.base_points),
        factors=tuple(factors),
        factors_total=len(active),
        model_family=model.family,
    )
