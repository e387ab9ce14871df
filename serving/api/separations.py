"""Household control: a household member marked as not living with a child, or not in
contact with them, whose records stop counting for the child from ``since``
(append-only), with the child's score before and after; and the markings about a child."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from serving import separations
from serving.access import Caller
from serving.api.corrections import RescoredOut
from serving.api.deps import ChildPath, Svc, allow
from serving.api.schemas import ErrorOut, Strict, UtcDateTime
from serving.audit import Action
from serving.limits import IDENTIFIER, NOTE, field
from serving.vocabulary import DISTRICT_ROLES

router = APIRouter(tags=["household control"])


class SeparationIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": "BJ-000123",
                    "kind": "not_living_with",
                    "since": "2025-09-01",
                    "reason": "the brother moved to the grandparents' home in Hebei in "
                    "September; confirmed on the home visit of 2025-11-20",
                }
            ]
        },
    )

    member_id: str = field(IDENTIFIER, description="the household member's child id")
    kind: Literal["not_living_with", "no_contact", "resumed"] = Field(
        description="not_living_with, no_contact: the member's records stop counting for "
        "the child from since; resumed: they count again from since"
    )
    since: date = Field(
        description="the day the member left, contact ended or resumed: not after today, "
        "nor before the pair's latest marking"
    )
    reason: str = field(NOTE.at_most(separations.MAX_REASON), description="why")


class SeparationOut(RescoredOut):
    """A marking as stored, with the scores around it (equal when the marking's date is
    after ``as_of``)."""

    id: int
    child_id: str
    member_id: str
    district: str
    kind: str
    since: date
    reason: str
    recorded_by: str
    role: str
    created_at: UtcDateTime


@router.post(
    "/v1/children/{child_id}/separations",
    status_code=201,
    response_model=SeparationOut,
    responses={404: {"model": ErrorOut}},
)
def separate(
    child_id: ChildPath,
    body: SeparationIn,
    caller: Annotated[Caller, allow(Action.SEPARATE_MEMBER, *DISTRICT_ROLES)],
    service: Svc,
) -> SeparationOut:
    """Caseworkers and supervisors: mark a household member as not living with the child
    or not in contact with them (or contact resumed). From ``since`` the member's records
    stop counting for this child (or count again) in every later score, batch and
    evidence; the member's own score and other children's are unchanged. The child is
    rescored at once; the response holds the score before and after and the factors
    that moved."""
    marked = separations.Marked(body.member_id, body.kind, body.since, body.reason)
    row: dict[str, Any] = separations.separate_member(service, caller, child_id, marked)
    return SeparationOut(**row)


@router.get(
    "/v1/children/{child_id}/separations",
    response_model=list[SeparationOut],
    responses={404: {"model": ErrorOut}},
)
def child_separations(
    child_id: ChildPath,
    caller: Annotated[Caller, allow(Action.READ_HISTORY, *DISTRICT_ROLES)],
    service: Svc,
) -> list[SeparationOut]:
    """The markings about a child's household members, newest first, with the scores
    around each."""
    rows = separations.read_separations(service, caller, child_id)
    return [SeparationOut(**row) for row in rows]
