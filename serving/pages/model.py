"""The model page, for supervisors and analysts: how well the model ranks and is
calibrated, how it treats groups and districts (each disparity outside the tolerance
listed and linked to its row, with what the promotion said of them), how its training
data's records were linked into children (the model's provenance; no child's data), and
its model card, read into sections (serving.pages.card) with their headings translated."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from features.linkage.schema import HOW_VALUES
from serving.access import admit
from serving.audit import Action
from serving.champion import ModelUnavailableError
from serving.errors import NotFoundError
from serving.monitoring import read_monitoring
from serving.overrides import read_overrides
from serving.pages.card import read_card
from serving.pages.checks import subject_words
from serving.pages.errors import PageError
from serving.pages.render import language_of, render
from serving.pages.session import Session
from serving.service import service_of
from serving.vocabulary import MODEL_PAGE_ROLES

router = APIRouter(include_in_schema=False)
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
    rows = fairness.get("rows", [])
    reviewed = read_overrides(service_of(request), signed_in.caller)
    title, card = read_card(served.reports.get("model_card.md") or "")
    return render(
        request,
        "model.html",
        districts=[row for row in rows if row["attribute"] == "district"],
        # the model alone's (models.fairness_split), judged at promotion; a model trained
        # before the split has only the policy's audit, whose violations it then shows
        alone=fairness.get("model"),
        violations=[
            _violation(text) for text in (fairness.get("model") or fairness).get("violations", [])
        ],
        policy_violations=len(fairness.get("violations", [])),
        accepted=fairness.get("policy_accepted"),
        justification=served.promotion.get("disparity_justification", ""),
        capacity=service_of(request).flagging,
        card_title=title,
        card=card,
        user=signed_in.principal,
        csrf=signed_in.csrf,
        served=served,
        evaluation=evaluation,
        by_score=by_score,
        highest=max(rates, default=0.0) or 1.0,
        groups=[row for row in rows if row["attribute"] != "district"],  # every attribute
        fairness=fairness,
        linkage=linkage,
        linkage_groups=linkage_groups,
        hows=HOW_VALUES,
        loaded=served.loaded_at,
        anchor=row_anchor,
        overrides=reviewed,
        monitoring=_monitoring(request, signed_in),
        subject=subject_words(language_of(request), served.model.registry),
    )


def _monitoring(request: Request, signed_in: Session) -> dict[str, Any] | None:
    """The latest batch's checks, or None before any batch."""
    try:
        return read_monitoring(service_of(request), signed_in.caller, None)
    except NotFoundError:
        return None


def _violation(text: str) -> dict[str, str]:
    """A violation as models.fairness describes it ("district=Chaoyang: fpr ..."), with
    the anchor of its group's row on this page."""
    group = text.split(":", 1)[0]
    attribute, _, value = group.partition("=")
    return {"text": text, "anchor": row_anchor(attribute, value)}


def row_anchor(attribute: str, group: str) -> str:
    """The id of a group's row in the page's tables (one definition, for the template)."""
    safe = "".join(c if c.isalnum() else "-" for c in f"{attribute}-{group}")
    return f"group-{safe}"
