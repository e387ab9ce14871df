"""Scores of case histories posted in the body: nothing is stored but the audit record."""

from __future__ import annotations

from typing import Annotated

import polars as pl
from fastapi import APIRouter, Query, Request

from features import schema as s
from serving.access import Caller
from serving.api.deps import Lang, Svc, allow, language
from serving.api.schemas import RiskOut, ScoreRequest
from serving.api.views import risk_out
from serving.audit import Action
from serving.risk import Posted, posted_risk
from serving.vocabulary import DISTRICT_ROLES

router = APIRouter(tags=["scores"])


@router.post("/v1/score", response_model=RiskOut)
def score(
    body: ScoreRequest,
    request: Request,
    caller: Annotated[Caller, allow(Action.SCORE_REQUEST, *DISTRICT_ROLES)],
    service: Svc,
    lang: Lang = None,
    top: Annotated[int, Query(ge=0, le=500, description="factors returned")] = 10,
) -> RiskOut:
    """Score a case history sent in the body (a child and its events, in the data
    contract's shapes) on an as-of date, with every factor and the records behind it.
    Nothing is stored but the audit record."""
    chosen = language(request, lang)
    risk = posted_risk(service, caller, posted(body), chosen, top)
    return risk_out(risk, chosen)


def posted(body: ScoreRequest) -> Posted:
    """The body as contract tables, every value as text (as an export's)."""
    child = {name: getattr(body.child, name) for name in s.CHILDREN_COLUMNS}
    children = pl.DataFrame([child], schema=dict.fromkeys(s.CHILDREN_COLUMNS, pl.String))
    rows = [
        {
            name: (None if (value := getattr(event, name)) is None else str(value))
            for name in s.EVENTS_COLUMNS
        }
        for event in body.events
    ]
    events = pl.DataFrame(rows, schema=dict.fromkeys(s.EVENTS_COLUMNS, pl.String))
    return Posted(body.child.child_id, body.child.district, body.as_of, children, events)
