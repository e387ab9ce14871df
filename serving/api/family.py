"""A summary of a stored child's score for the child's family (serving.family), without
the name: the API carries no identity; the page prints it with the name."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from serving.access import Caller
from serving.api.deps import ChildPath, Lang, Svc, allow, language
from serving.api.schemas import ErrorOut, LocalDateTime, UtcDateTime
from serving.api.views import risk_out
from serving.audit import Action
from serving.family import family_summary
from serving.vocabulary import DISTRICT_ROLES

router = APIRouter(tags=["children"])


class UsedFactorOut(BaseModel):
    fact: str
    raises: bool
    records: int = Field(description="the child's own records behind it")
    household: bool = Field(description="it also counts household members' records")


class UsedRecordOut(BaseModel):
    event_id: str
    event_type: str
    detail: str | None
    occurred_at: LocalDateTime
    correction: str | None


class FamilySummaryOut(BaseModel):
    """What the page's family summary says, without the name (the API carries no
    identity): the score and its rate in words, the factors in words, the child's own
    records behind them by source and date, and the latest recorded decision."""

    child_id: str
    district: str
    as_of: date
    score_1_20: int
    tier: str
    rate_statement: str
    factors: list[UsedFactorOut]
    used: dict[str, list[UsedRecordOut]]
    decision_action: str | None
    decided_at: UtcDateTime | None
    produced_by: str
    produced_at: UtcDateTime


@router.get(
    "/v1/children/{child_id}/family-summary",
    response_model=FamilySummaryOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def child_family_summary(
    child_id: ChildPath,
    request: Request,
    caller: Annotated[Caller, allow(Action.FAMILY_SUMMARY, *DISTRICT_ROLES)],
    service: Svc,
    lang: Lang = None,
) -> FamilySummaryOut:
    """A summary of the score for the child's family (the page /children/{id}/family-summary
    prints it with the child's name); producing it is audited."""
    chosen = language(request, lang)
    found = family_summary(service, caller, child_id, chosen, named=False)
    view, decision = found.risk.view, found.decision
    return FamilySummaryOut(
        child_id=child_id,
        district=view.district,
        as_of=view.as_of,
        score_1_20=view.score_1_20,
        tier=view.tier,
        rate_statement=risk_out(found.risk, chosen).rate_statement,
        factors=[UsedFactorOut(**asdict(f)) for f in found.factors],
        used={
            source: [UsedRecordOut(**{k: e[k] for k in UsedRecordOut.model_fields}) for e in rows]
            for source, rows in found.used.items()
        },
        decision_action=decision["action"] if decision else None,
        decided_at=decision["created_at"] if decision else None,
        produced_by=found.produced_by,
        produced_at=found.produced_at,
    )
