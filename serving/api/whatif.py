"""What would change a stored child's score: without each factor's records, and without
each record behind a raised score, each rescored exactly (serving.whatif)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from serving.access import Caller
from serving.api.deps import ChildPath, Lang, Svc, allow, language
from serving.api.schemas import ErrorOut
from serving.audit import Action
from serving.champion import ModelUnavailableError
from serving.risk import stored_risk
from serving.vocabulary import DISTRICT_ROLES
from serving.whatif import Without, statement

router = APIRouter(tags=["children"])


class WithoutOut(BaseModel):
    """The child's score with some records taken out, rescored exactly."""

    event_ids: list[str]
    score_1_20: int | None = Field(description="null: outside the model's population")
    probability: float | None
    statement: str = Field(description="in plain words, in the language asked for")


class FactorWithoutOut(WithoutOut):
    factor: str
    label: str


class MemberWithoutOut(WithoutOut):
    member_id: str = Field(description="the household member (another child's id)")


class WhatIfOut(BaseModel):
    """What would change the score: per factor with records, the score without all of
    them; per record behind a factor that raises the score (the most recent first, at
    most ``serving.whatif.MOST_RECORDS``), the score without it."""

    child_id: str
    as_of: date
    score_1_20: int
    probability: float
    factors: list[FactorWithoutOut]
    records: list[WithoutOut]
    records_not_asked: int = Field(description="raising records beyond those answered")
    members: list[MemberWithoutOut] = Field(
        description="per household member whose records count for the child (association "
        "features), the score without them: the score with the member marked apart"
    )


@router.get(
    "/v1/children/{child_id}/what-if",
    response_model=WhatIfOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def child_what_if(
    child_id: ChildPath,
    request: Request,
    caller: Annotated[Caller, allow(Action.READ_RISK, *DISTRICT_ROLES)],
    service: Svc,
    as_of: Annotated[date | None, Query(description="default: the latest batch's date")] = None,
    lang: Lang = None,
) -> WhatIfOut:
    """A stored child's score without each factor's records, and without each record
    behind a raised score, each rescored by the one scoring path (never approximated),
    and said in plain words. Audited as a read of the child's risk."""
    chosen = language(request, lang)
    risk = stored_risk(service, caller, child_id, as_of, chosen, None, asks_what_if=True)
    found, now = risk.what_if, risk.view.score_1_20
    if found is None:  # asked for, so always there
        raise ModelUnavailableError("the what-if answers could not be computed")
    labels = {f.factor: f.label for f in risk.view.factors}

    def out(without: Without) -> dict[str, Any]:
        return {**asdict(without), "statement": statement(without, now, chosen)}

    return WhatIfOut(
        child_id=child_id,
        as_of=risk.view.as_of,
        score_1_20=now,
        probability=risk.view.probability,
        factors=[
            FactorWithoutOut(factor=name, label=labels[name], **out(without))
            for name, without in found.by_factor.items()
        ],
        records=[WithoutOut(**out(without)) for without in found.by_record.values()],
        records_not_asked=found.records_left_out,
        members=[
            MemberWithoutOut(member_id=member, **out(without))
            for member, without in found.by_member.items()
        ],
    )
