"""Supervision: how decisions went in a supervisor's districts, the children nobody has
reviewed yet, and assigning a child to a caseworker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serving import supervision
from serving.access import Caller
from serving.api.deps import ChildPath, DistrictQuery, Svc, allow
from serving.api.schemas import ErrorOut
from serving.api.supervision_schemas import AssignmentIn, AssignmentOut, SummaryOut, TallyOut
from serving.audit import Action
from serving.store.assignments import Tally
from serving.vocabulary import Role

router = APIRouter(tags=["supervision"])


def _tallies(tallies: list[Tally]) -> list[TallyOut]:
    return [
        TallyOut(
            key=t.key, decisions=t.decisions, overrides=t.overrides, override_rate=t.override_rate
        )
        for t in tallies
    ]


@router.get("/v1/supervision/decisions", response_model=SummaryOut)
def decisions_summary(
    caller: Annotated[Caller, allow(Action.READ_SUPERVISION, Role.SUPERVISOR)],
    service: Svc,
    days: Annotated[
        supervision.Period, Query(description="the last 7, 30 or 90 days")
    ] = supervision.Period.MONTH,
    district: DistrictQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SummaryOut:
    """Supervisors: decisions and overrides in their districts (or one) over the last
    ``days`` days, by worker, district and override reason, with override rates; and the
    latest batch's flagged children with no decision yet (child ids only)."""
    summary = supervision.read_summary(service, caller, days, district)
    waiting = supervision.read_unreviewed(service, caller, district, limit)
    return SummaryOut(
        districts=summary.districts,
        days=summary.days,
        since=summary.since,
        decisions=summary.decisions,
        overrides=summary.overrides,
        by_worker=_tallies(summary.by_worker),
        by_district=_tallies(summary.by_district),
        by_reason=_tallies(summary.by_reason),
        batch_as_of=waiting.batch.as_of if waiting.batch else None,
        not_yet_reviewed=[row["child_id"] for row in waiting.rows],
        more_not_yet_reviewed=waiting.more,
    )


@router.post(
    "/v1/children/{child_id}/assignment",
    status_code=201,
    response_model=AssignmentOut,
    responses={404: {"model": ErrorOut}},
)
def assign(
    child_id: ChildPath,
    body: AssignmentIn,
    caller: Annotated[Caller, allow(Action.ASSIGN_CHILD, Role.SUPERVISOR)],
    service: Svc,
) -> AssignmentOut:
    """Supervisors: give a child of their districts to an active caseworker or supervisor
    of the child's district (``assignee``), or take it back (``null``), with a note.
    Each is a new row (append-only: the latest is the current assignment), audited; an
    assignee
    who may not take the child is 422 on ``assignee``, the refusal audited."""
    row = supervision.assign_child(service, caller, child_id, body.assignee, body.note)
    return AssignmentOut(**row)
