"""The API's bodies made from the domain's answers: a risk, a queue row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Final

from serving.api.schemas import EvidenceEventOut, FactorOut, FlagItem, ModelRef, Reason, RiskOut
from serving.i18n import Language
from serving.risk import Risk
from serving.store.provenance import UNKNOWN

RATE_WORDS: Final = {
    "en": (
        "Of past children with records like these, about {n} in 100 had an urgent "
        "intervention recorded within {days} days."
    ),
    "zh-CN": "在记录与此相似的以往儿童中，约每100人中有{n}人在{days}天内被记录了紧急干预。",
}


def risk_out(risk: Risk, lang: Language) -> RiskOut:
    """A risk as the API answers it, with the rate in words (never "probability of
    harm": a calibrated rate of a recorded outcome among children like this one). Each
    factor keeps its ``event_ids`` and adds ``evidence``: the same records, in the same
    order, each with where it came from (null fields where nothing is known)."""
    view = risk.view
    per_hundred = view.probability * 100
    n = f"{per_hundred:.0f}" if per_hundred >= 1 else f"{per_hundred:.1f}"
    return RiskOut(
        child_id=view.child_id,
        district=view.district,
        as_of=view.as_of,
        probability=view.probability,
        score_1_20=view.score_1_20,
        tier=view.tier,
        flagged=risk.flagged,
        flag_basis=risk.basis,
        rate_statement=RATE_WORDS[lang].format(n=n, days=risk.horizon_days),
        base_log_odds=view.base_log_odds,
        base_points=view.base_points,
        factors=[
            FactorOut(
                factor=f.factor,
                features=list(f.features),
                label=f.label,
                value=f.value,
                fact=f.fact,
                note=f.note,
                log_odds=f.log_odds,
                points=f.points,
                direction=f.direction,
                event_ids=list(f.event_ids),
                evidence=[
                    EvidenceEventOut(event_id=e, **asdict(risk.sources.get(e, UNKNOWN)))
                    for e in f.event_ids
                ],
            )
            for f in view.factors
        ],
        factors_total=view.factors_total,
        model=ModelRef(version=risk.version, family=view.model_family),
        language=lang,
    )


def flag_item(row: dict[str, Any], words: Callable[[str, Any], str]) -> FlagItem:
    """A queue row with its reasons in words."""
    return FlagItem(
        child_id=row["child_id"],
        district=row["district"],
        score_1_20=row["score_1_20"],
        tier=row["tier"],
        probability=row["probability"],
        flagged=row["flagged"],
        reasons=[
            Reason(
                factor=reason["factor"],
                label=words(reason["factor"], reason.get("value")),
                value=reason.get("value"),
                log_odds=reason["log_odds"],
                points=reason["points"],
            )
            for reason in row["reasons"]
        ],
        decided_at=row["decided_at"],
    )
