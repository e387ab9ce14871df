"""One child's score with its evidence: the factors behind the score and the records
behind each factor. The API and the pages both call ``explain_child``; there is no second
path from a case history to a score.

Features come from the one feature pipeline (features.build), the explanation from the
model's exact additive decomposition (models.riskmodel), the records from
features.evidence, which applies the same windows and retention policy as the features.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import polars as pl

from features import schema as s
from features.build import build_features
from features.contract import CaseHistories, ValidationReport
from features.deployment import Deployment
from features.evidence import event_ids_behind, evidence_for
from features.vocabulary import DETAIL_LABELS, EVENT_LABELS
from models.flagging import TIERS, FlaggingPolicy
from models.riskmodel import Explanation, RiskModel
from serving.errors import NotScorableError
from serving.i18n import Language

POLARS_IN_MEMORY: Final = (
    "in-memory"  # polars' collect: for one household, far faster than streaming
)


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
    """A factor in plain words. A "never" feature whose value is false is said the way it
    is true of the child ("at least one record of X"), never as "no X ever recorded",
    which as a reason for a raised score would say the opposite of the records."""
    specs = {spec.name: spec for spec in model.specs}
    values = value if isinstance(value, list) else [value] * len(features)
    words = []
    for name, known in zip(features, values, strict=False):
        spec = specs.get(name)
        if spec is None:
            words.append(name)
        elif spec.kind == "never" and known is False and spec.sources:
            words.append(_at_least_once(spec.sources[0], spec.detail, lang))
        else:
            words.append(spec.description_zh if lang == "zh-CN" else spec.description_en)
    return (" 与 " if lang == "zh-CN" else " & ").join(words)


def _at_least_once(event_type: str, detail: str | None, lang: Language) -> str:
    kind = EVENT_LABELS[event_type]
    code = DETAIL_LABELS[detail] if detail else None
    if lang == "zh-CN":
        return f"曾有{kind.zh}{f'（{code.zh}）' if code else ''}记录"
    return f"At least one record of {kind.en}{f' ({code.en})' if code else ''}"


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
    histories: CaseHistories,
    child_id: str,
    as_of: date,
    policy: FlaggingPolicy,
    lang: Language = "en",
    top: int | None = 10,
) -> RiskView:
    """Score one child on ``as_of`` from ``histories`` (the child and its household)."""
    (view,) = explain_children(model, histories, [Ask(child_id, lang, top)], as_of, policy)
    if isinstance(view, NotScorableError):
        raise view
    return view


def explain_children(
    model: RiskModel,
    histories: CaseHistories,
    asks: Sequence[Ask],
    as_of: date,
    policy: FlaggingPolicy,
) -> list[RiskView | NotScorableError]:
    """Score and explain several children of ``histories`` on one date with one feature
    build, one explanation and one evidence query: per child, the view or why not."""
    ids = [ask.child_id for ask in asks]
    table = build_features(histories, model.config, model.policy, [as_of])
    frame = table.frame.filter(pl.col(s.CHILD_ID).is_in(ids)).collect(engine=POLARS_IN_MEMORY)
    row_of = {child: index for index, child in enumerate(frame[s.CHILD_ID].to_list())}
    explanation = model.explain(model.matrix(frame)) if frame.height else None
    specs = {spec.name: spec for spec in model.specs}
    chosen: dict[str, tuple[list[int], list[int]]] = {}
    for ask in asks:
        if explanation is None or ask.child_id not in row_of:
            continue
        log_odds = explanation.log_odds[row_of[ask.child_id]]
        order = np.argsort(-np.abs(log_odds), kind="stable")
        active = [int(i) for i in order if abs(log_odds[i]) > 1e-12]
        chosen[ask.child_id] = (active, active if ask.top is None else active[: ask.top])
    wanted = {
        child: list(
            {
                f: specs[f]
                for i in picked
                for f in explanation.factors[i].features  # type: ignore[union-attr]
                if f in specs
            }.values()
        )
        for child, (_, picked) in chosen.items()
    }
    records = evidence_for(histories, model.policy, wanted, as_of)
    views: list[RiskView | NotScorableError] = []
    for ask in asks:
        if explanation is None or ask.child_id not in chosen:
            views.append(
                NotScorableError(
                    f"child {ask.child_id} is not in the model's population on {as_of} (the "
                    "cohort rules: age range, born by the date, records in the window)"
                )
            )
            continue
        views.append(
            _view(
                model, explanation, frame, row_of[ask.child_id], ask, chosen, records, as_of, policy
            )
        )
    return views


def _view(
    model: RiskModel,
    explanation: Explanation,
    frame: pl.DataFrame,
    row: int,
    ask: Ask,
    chosen: dict[str, tuple[list[int], list[int]]],
    records: dict[str, dict[str, pl.DataFrame]],
    as_of: date,
    policy: FlaggingPolicy,
) -> RiskView:
    log_odds = explanation.log_odds[row]
    total = float(log_odds.sum() + explanation.intercept)
    probability = 1.0 / (1.0 + math.exp(-total))
    score = int(model.ventiles.score(np.array([probability]))[0])
    active, picked = chosen[ask.child_id]
    values = frame.row(row, named=True)
    evidence = records.get(ask.child_id, {})
    factors = []
    for i in picked:
        factor = explanation.factors[i]
        value = [_plain(values.get(f)) for f in factor.features]
        factors.append(
            FactorView(
                factor=factor.name,
                features=factor.features,
                label=factor_label(
                    model, factor.features, ask.lang, value[0] if len(value) == 1 else value
                ),
                value=value[0] if len(value) == 1 else value,
                log_odds=float(log_odds[i]),
                points=float(explanation.points[row, i]),
                direction="raises" if log_odds[i] > 0 else "lowers",
                event_ids=event_ids_behind(evidence, factor.features),
            )
        )
    return RiskView(
        child_id=ask.child_id,
        district=str(values[s.DISTRICT]),
        as_of=as_of,
        probability=probability,
        score_1_20=score,
        tier=tier_for(score, policy),
        base_log_odds=float(explanation.intercept),
        base_points=float(explanation.base_points),
        factors=tuple(factors),
        factors_total=len(active),
        model_family=model.family,
    )
