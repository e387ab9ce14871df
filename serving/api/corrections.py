"""Record corrections: a record marked wrong, amended or expunged (append-only), with the
child's score before and after; and the corrections of a child's records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from serving import corrections
from serving.access import Caller
from serving.api.deps import ChildPath, Svc, allow
from serving.api.schemas import ErrorOut, Strict, UtcDateTime
from serving.audit import Action
from serving.limits import IDENTIFIER, NOTE, field, path
from serving.vocabulary import DISTRICT_ROLES, Role

router = APIRouter(tags=["corrections"])

RecordPath = Annotated[str, path(IDENTIFIER.at_most(128), "a record's id (the event_id)")]
Amendable = Literal["event_type", "occurred_at", "severity", "amount", "detail"]


class CorrectionIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "corrected",
                    "amended": {"severity": "1"},
                    "reason": "the hospital's record gave the wrong severity",
                    "confirmed_by": "records office of the district hospital",
                    "reference": "letter 2025-114",
                },
                {
                    "kind": "disputed",
                    "reason": "the school confirms the absences were another pupil's",
                    "confirmed_by": "the school's head teacher",
                    "reference": "call of 2025-12-01, note 77",
                },
            ]
        },
    )

    kind: Literal["disputed", "corrected", "expunged"] = Field(
        description="disputed: confirmed wrong, no longer used; corrected: used as "
        "amended; expunged: gone from every output (retention policy or an order)"
    )
    amended: dict[Amendable, str | None] = Field(
        default_factory=dict,
        description="kind corrected only: each amended contract field's new value as "
        "text (as an export writes it), or null to clear an optional field",
    )
    reason: str = field(NOTE.at_most(corrections.MAX_REASON), description="why")
    confirmed_by: str = field(
        NOTE.at_most(corrections.MAX_CONFIRMED_BY), description="who confirmed it"
    )
    reference: str = field(
        NOTE.at_most(corrections.MAX_REFERENCE),
        description="the source's confirmation, the retention rule or the order",
    )


class MovedOut(BaseModel):
    factor: str
    points_before: float
    points_after: float


class RescoredOut(BaseModel):
    """``score_*`` and ``rate_*``: the child's score (1-20) and calibrated rate of the
    recorded outcome just before and just after a change, on ``as_of`` with model
    ``model_version`` (None with no model or outside the model's population)."""

    model_version: str | None
    as_of: date | None
    score_before: int | None
    score_after: int | None
    rate_before: float | None
    rate_after: float | None
    moved: list[MovedOut]


class CorrectionOut(RescoredOut):
    """A correction as stored, with the scores around it (None for a records officer,
    who does not see scores)."""

    id: int
    event_id: str
    child_id: str
    district: str
    kind: str
    amended: str | None = Field(description="the amended fields, JSON")
    reason: str
    confirmed_by: str
    reference: str
    recorded_by: str
    role: str
    created_at: UtcDateTime


def _out(row: dict[str, Any], caller: Caller) -> CorrectionOut:
    if caller.principal.role in DISTRICT_ROLES:
        return CorrectionOut(**row)
    hidden = dict.fromkeys(("score_before", "score_after", "rate_before", "rate_after"))
    return CorrectionOut(**{**row, **hidden, "moved": []})


@router.post(
    "/v1/records/{event_id}/corrections",
    status_code=201,
    response_model=CorrectionOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def correct(
    event_id: RecordPath,
    body: CorrectionIn,
    caller: Annotated[Caller, allow(Action.CORRECT_RECORD, Role.SUPERVISOR, Role.RECORDS_OFFICER)],
    service: Svc,
) -> CorrectionOut:
    """Supervisors and records officers: mark a record as wrong, amend it or expunge it.
    The record itself is never overwritten: the correction is its own row, and every
    later score, evidence, batch and feature build honours it. The child is rescored at
    once; the response holds the score before and after and the factors that moved."""
    asked = corrections.Asked(
        body.kind,
        body.reason,
        body.confirmed_by,
        body.reference,
        {str(k): v for k, v in body.amended.items()},
    )
    return _out(corrections.correct_record(service, caller, event_id, asked), caller)


@router.get(
    "/v1/children/{child_id}/corrections",
    response_model=list[CorrectionOut],
    responses={404: {"model": ErrorOut}},
)
def child_corrections(
    child_id: ChildPath,
    caller: Annotated[Caller, allow(Action.READ_HISTORY, *DISTRICT_ROLES)],
    service: Svc,
) -> list[CorrectionOut]:
    """The corrections of a child's records, newest first, with the scores around each."""
    return [_out(row, caller) for row in corrections.read_corrections(service, caller, child_id)]
