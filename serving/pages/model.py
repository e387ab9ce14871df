"""The model page, for supervisors and analysts: how well the model ranks and is
calibrated, how it treats groups, and how its training data's records were linked into
children (the model's provenance; no child's data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from features.linkage.schema import HOW_VALUES
from serving.access import admit
from serving.audit import Action
from serving.champion import ModelUnavailableError
from serving.pages.errors import PageError
from serving.pages.render import render
from serving.pages.session import Session
from serving.service import service_of
from serving.vocabulary import MODEL_PAGE_ROLES

router = APIRouter(include_in_schema=False)
GROUPS_SHOWN = ("area", "hukou", "sex")
LINKAGE_GROUPS = ("hukou", "area")  # features.linkage.summary's share_by_how_by_<group>


@router.get("/model", response_class=HTMLResponse)
def model_page(request: Request, signed_in: Session) -> Response:
    admit(signed_in.caller, Action.READ_MODEL, MODEL_PAGE_ROLES)
    try:
        served = service_of(request).served()
    except ModelUnavailableError as exc:
        raise PageError(503, "model") from exc
    evaluation = served.reports.get("evaluation.json", {})
    fairness = served.reports.get("fairness.json", {})
    by_score = evaluation.get("by_score", [])
    rates = [row["outcome_rate"] for row in by_score if row.get("outcome_rate") is not None]
    # how the training data was linked (models.train: None when riskflag did not link it)
    linkage = served.model.provenance.get("linkage") or {}
    linkage_groups = [
        (group, linkage.get(f"share_by_how_by_{group}") or {}) for group in LINKAGE_GROUPS
    ]
    return render(
        request,
        "model.html",
        user=signed_in.principal,
        csrf=signed_in.csrf,
        served=served,
        evaluation=evaluation,
        by_score=by_score,
        highest=max(rates, default=0.0) or 1.0,
        groups=[row for row in fairness.get("rows", []) if row["attribute"] in GROUPS_SHOWN],
        fairness=fairness,
        linkage=linkage,
        linkage_groups=linkage_groups,
        hows=HOW_VALUES,
        loaded=served.loaded_at,
    )
