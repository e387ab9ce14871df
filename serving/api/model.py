"""The model being served, and de-identified aggregates: nothing about any one child."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter

from serving.access import Caller
from serving.api.deps import Anyone, Svc, allow
from serving.audit import Action
from serving.overrides import read_overrides
from serving.store.aggregates import aggregates as counted
from serving.vocabulary import Role

router = APIRouter(tags=["model"])

METRICS: Final = (
    "n",
    "positives",
    "base_rate",
    "roc_auc",
    "average_precision",
    "brier",
    "ece",
    "at_k",
    "by_score",
)


@router.get("/v1/model")
def model_info(principal: Anyone, service: Svc) -> dict[str, Any]:
    """The serving model: version, family, hash, promotion record, model card,
    evaluation metrics and fairness summary (no child-level data)."""
    served = service.served()
    evaluation = served.reports.get("evaluation.json", {})
    fairness = served.reports.get("fairness.json", {})
    return {
        "name": "riskflag-urgent",
        "version": served.version,
        "family": served.model.family,
        "sha256": served.sha256,
        "loaded_at": served.loaded_at.isoformat(timespec="seconds"),
        "label": served.model.label,
        "horizon_days": served.model.horizon_days,
        "test_window": served.tags.get("riskflag.test_window"),
        "promotion": served.promotion,
        "metrics": {key: evaluation.get(key) for key in METRICS if key in evaluation},
        "fairness": {
            "tolerance": fairness.get("tolerance"),
            "min_count": fairness.get("min_count"),
            "references": fairness.get("references"),
            "violations": fairness.get("violations", []),
            "groups": fairness.get("rows", []),
            # the model alone (judged at promotion), and the acceptance of the policy's effect
            "model": fairness.get("model"),
            "policy_accepted": fairness.get("policy_accepted"),
        },
        "model_card": served.reports.get("model_card.md"),
        "flagging_policy": service.flagging.__dict__,
    }


@router.get("/v1/aggregates")
def aggregates(
    caller: Annotated[
        Caller, allow(Action.READ_AGGREGATES, Role.ANALYST, Role.SUPERVISOR, Role.ADMIN)
    ],
    service: Svc,
) -> dict[str, Any]:
    """De-identified counts from the latest batch: children and flags per district and
    tier, decisions per action; counts under 10 are suppressed (null)."""
    with service.engine.connect() as connection:
        return counted(connection, service.flagging)


@router.get("/v1/overrides")
def overrides(
    caller: Annotated[
        Caller, allow(Action.READ_AGGREGATES, Role.ANALYST, Role.SUPERVISOR, Role.ADMIN)
    ],
    service: Svc,
) -> dict[str, Any]:
    """Overrides for review before the next retraining: decisions and overrides by reason,
    district, score band and model version; the overrides on the highest scores (decision
    ids, no child id); and the model with workers: per group of the latest batch, the
    model's flag rate beside the share whose caseworkers took an action, each with its
    disparity. Supervisors see their districts, others the city; small cells suppressed."""
    return read_overrides(service, caller)
