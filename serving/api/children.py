"""A stored child: their score explained, and their history, each record with where it
came from (the partner's system and record id, and how linkage joined it).

Never who the child is: no route of the API answers a name, an ID number or any other
identity data (serving.identity is read by the child page alone)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from serving import cases
from serving.access import Caller
from serving.api.deps import ChildPath, Lang, Svc, allow, language
from serving.api.schemas import (
    ErrorOut,
    EventOut,
    HistoryOut,
    RiskOut,
)
from serving.api.views import risk_out
from serving.audit import Action
from serving.risk import stored_risk
from serving.vocabulary import DISTRICT_ROLES

router = APIRouter(tags=["children"])


@router.get(
    "/v1/children/{child_id}/risk",
    response_model=RiskOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def risk(
    child_id: ChildPath,
    request: Request,
    caller: Annotated[Caller, allow(Action.READ_RISK, *DISTRICT_ROLES)],
    service: Svc,
    as_of: Annotated[date | None, Query(description="default: the latest batch's date")] = None,
    lang: Lang = None,
    top: Annotated[int, Query(ge=0, le=500)] = 10,
) -> RiskOut:
    """A stored child's score, factors and evidence on an as-of date: each factor's
    ``event_ids`` and, for the same records, ``evidence`` with each one's source system,
    source record id and link. No identity data."""
    chosen = language(request, lang)
    return risk_out(stored_risk(service, caller, child_id, as_of, chosen, top), chosen)


@router.get(
    "/v1/children/{child_id}/history",
    response_model=HistoryOut,
    responses={404: {"model": ErrorOut}},
)
def child_history(
    child_id: ChildPath,
    caller: Annotated[Caller, allow(Action.READ_HISTORY, *DISTRICT_ROLES)],
    service: Svc,
) -> HistoryOut:
    """A stored child's events, grouped by kind, oldest first, each with its source
    system, source record id and link (null where the store was not linked). No
    identity data."""
    child, grouped = cases.read_history(service, caller, child_id)
    return HistoryOut(
        child_id=child_id,
        district=child.district,
        sources={source: [EventOut(**row) for row in rows] for source, rows in grouped.items()},
    )
