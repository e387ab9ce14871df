"""Decisions about children: recorded durably, never edited; read by child or district."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serving import cases
from serving.access import Caller
from serving.api.deps import ChildPath, DistrictQuery, Svc, allow
from serving.api.schemas import DecisionIn, DecisionOut, ErrorOut
from serving.audit import Action
from serving.vocabulary import DISTRICT_ROLES, Role

router = APIRouter(tags=["decisions"])


@router.post(
    "/v1/children/{child_id}/decisions",
    status_code=201,
    response_model=DecisionOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def decide(
    child_id: ChildPath,
    body: DecisionIn,
    caller: Annotated[Caller, allow(Action.RECORD_DECISION, *DISTRICT_ROLES)],
    service: Svc,
) -> DecisionOut:
    """Record what was decided about a child: an action, agreement with the flag or an
    override with its reason, and a note. Stored durably; never edited. The same
    decision sent again (same action, agreement, reason, note and batch as the caller's
    latest about the child) is 409: nothing is stored twice."""
    decided = cases.Decided(body.action, body.agrees, body.reason_code, body.note)
    return DecisionOut(**cases.record_decision(service, caller, child_id, decided))


@router.get(
    "/v1/children/{child_id}/decisions",
    response_model=list[DecisionOut],
    responses={404: {"model": ErrorOut}},
)
def child_decisions(
    child_id: ChildPath,
    caller: Annotated[Caller, allow(Action.READ_DECISIONS, *DISTRICT_ROLES)],
    service: Svc,
) -> list[DecisionOut]:
    """A child's decisions, newest first."""
    return [DecisionOut(**row) for row in cases.read_decisions(service, caller, child_id)]


@router.get("/v1/decisions", response_model=list[DecisionOut])
def district_decisions(
    caller: Annotated[Caller, allow(Action.READ_DECISIONS, Role.SUPERVISOR)],
    service: Svc,
    district: DistrictQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DecisionOut]:
    """Supervisors: the decisions of their districts, newest first."""
    rows = cases.read_district_decisions(service, caller, district, limit)
    return [DecisionOut(**row) for row in rows]
