"""The linkage review queue: records officers read the open pairs and decide them, and
answer caseworkers' requests; caseworkers and supervisors ask for a merge or a split."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query

from serving import review
from serving.access import Caller
from serving.api.deps import ChildPath, CursorQuery, DistrictQuery, Svc, allow
from serving.api.review_schemas import (
    LinkRequestIn,
    LinkRequestOut,
    OpenRequestOut,
    PairDecidedOut,
    PairDecisionIn,
    PairDecisionOut,
    PairOut,
    PairPage,
    RecordOut,
    RequestDecisionIn,
)
from serving.api.schemas import ErrorOut
from serving.audit import Action
from serving.store.review import MAX_ID
from serving.vocabulary import DISTRICT_ROLES, REVIEW_ROLES

router = APIRouter(tags=["linkage review"])
NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {404: {"model": ErrorOut}}
PairPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a pair's id (the queue's)")]
RequestPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a link request's id")]


# a record's compared values as typed (its district is the pair's column)
TYPED: Final = (
    "name",
    "id_number",
    "birth_date",
    "sex",
    "address",
    "guardian_name",
    "guardian_phone",
)


def _record(pair: dict[str, Any], side: str) -> RecordOut:
    values = pair[f"record_{side}"]
    return RecordOut(
        **{key: None if values.get(key) is None else str(values[key]) for key in TYPED},
        source=pair[f"source_{side}"],
        record_id=pair[f"record_id_{side}"],
        child_id=pair[f"child_id_{side}"],
        district=pair[f"district_{side}"],
    )


def pair_out(pair: dict[str, Any]) -> PairOut:
    decided = pair.get("decided")
    return PairOut(
        id=pair["id"],
        match_probability=pair["match_probability"],
        left=_record(pair, "l"),
        right=_record(pair, "r"),
        fields=pair["fields"],
        decided=PairDecisionOut(**decided) if decided else None,
    )


@router.get("/v1/linkage/review", response_model=PairPage)
def review_queue(
    caller: Annotated[Caller, allow(Action.READ_REVIEW, *REVIEW_ROLES)],
    service: Svc,
    district: DistrictQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    cursor: CursorQuery = None,
) -> PairPage:
    """Records officers: the open pairs of records in the review band that touch their
    districts (all, for a city-wide officer), most consequential first, each with both
    records side by side and every comparison's level and weight."""
    limit = min(limit, service.settings.page_size_max)
    page = review.read_review(service, caller, review.ReviewAsked(district, limit, cursor))
    return PairPage(items=[pair_out(row) for row in page.rows], next_cursor=page.next_cursor)


@router.get("/v1/linkage/review/{pair_id}", response_model=PairOut, responses=NOT_FOUND)
def review_pair(
    pair_id: PairPath,
    caller: Annotated[Caller, allow(Action.READ_REVIEW, *REVIEW_ROLES)],
    service: Svc,
) -> PairOut:
    """A pair of records, open or decided (with its latest decision)."""
    return pair_out(review.read_pair(service, caller, pair_id))


@router.post(
    "/v1/linkage/review/{pair_id}/decision",
    status_code=201,
    response_model=PairDecidedOut,
    responses=NOT_FOUND,
)
def decide_pair(
    pair_id: PairPath,
    body: PairDecisionIn,
    caller: Annotated[Caller, allow(Action.DECIDE_PAIR, *REVIEW_ROLES)],
    service: Svc,
) -> PairDecidedOut:
    """Decide whether a pair's two records are one child: stored append-only (a later
    decision supersedes) and honoured by the next `riskflag link --decisions`."""
    decided = review.PairDecided(body.decision, body.note)
    return PairDecidedOut(**review.decide_pair(service, caller, pair_id, decided))


@router.get("/v1/linkage/requests", response_model=list[OpenRequestOut])
def link_requests(
    caller: Annotated[Caller, allow(Action.READ_REVIEW, *REVIEW_ROLES)],
    service: Svc,
    district: DistrictQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OpenRequestOut]:
    """Records officers: the caseworkers' merge and split requests no decision has
    answered yet, oldest first, with who each child is and their records."""
    rows = review.read_requests(service, caller, district, limit)
    return [OpenRequestOut(**row) for row in rows]


@router.post(
    "/v1/linkage/requests/{request_id}/decision",
    status_code=201,
    response_model=PairDecisionOut,
    responses=NOT_FOUND,
)
def answer_request(
    request_id: RequestPath,
    body: RequestDecisionIn,
    caller: Annotated[Caller, allow(Action.DECIDE_PAIR, *REVIEW_ROLES)],
    service: Svc,
) -> PairDecisionOut:
    """Answer a request with a decision on two records: one of each child for a merge,
    two of the child for a split. The request leaves the open list."""
    decided = review.RecordsDecided(
        (body.source_l, body.record_id_l),
        (body.source_r, body.record_id_r),
        body.decision,
        body.note,
    )
    return PairDecisionOut(**review.answer_request(service, caller, request_id, decided))


@router.post(
    "/v1/children/{child_id}/link-requests",
    status_code=201,
    response_model=LinkRequestOut,
    responses=NOT_FOUND,
)
def request_link(
    child_id: ChildPath,
    body: LinkRequestIn,
    caller: Annotated[Caller, allow(Action.REQUEST_LINK, *DISTRICT_ROLES)],
    service: Svc,
) -> LinkRequestOut:
    """Ask the records officers to look at a child: two children who are one (``merge``,
    naming the other) or one who is two (``split``), with the reason."""
    asked = review.LinkAsked(body.kind, body.other_child_id, body.reason)
    return LinkRequestOut(**review.request_link(service, caller, child_id, asked))
