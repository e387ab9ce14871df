"""A stored child: their score explained, and their history, each record with where it
came from (the partner's system and record id, and how linkage joined it).

Never who the child is: no route of the API answers a name, an ID number or any other
identity data (serving.identity is read by the child page alone)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from serving import cases
from serving.access import Caller
from serving.api.deps import ChildPath, Lang, Svc, allow, language
from serving.api.schemas import (
    ErrorOut,
    EventOut,
    HistoryOut,
    LocalDateTime,
    RiskOut,
    UtcDateTime,
)
from serving.api.views import risk_out
from serving.audit import Action
from serving.family import family_summary
from serving.risk import stored_risk
from serving.vocabulary import DISTRICT_ROLES
from serving.whatif import Without, statement

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


class WithoutOut(BaseModel):
    """The child's score with some records taken out, rescored exactly."""

    event_ids: list[str]
    score_1_20: int | None = Field(description="null: outside the model's population")
    probability: float | None
    statement: str = Field(description="in plain words, in the language asked for")


class FactorWithoutOut(WithoutOut):
    factor: str
    label: str


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
    assert found is not None  # asked for
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
    )


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
