"""The queue: the latest batch's children of the caller's districts, highest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from serving import cases
from serving.access import Caller
from serving.api.deps import CursorQuery, DistrictQuery, Lang, Svc, allow, language
from serving.api.schemas import BatchOut, FlagPage, TierField
from serving.api.views import flag_item
from serving.audit import Action
from serving.vocabulary import DISTRICT_ROLES

router = APIRouter(tags=["queue"])


@router.get("/v1/flags", response_model=FlagPage)
def flags(
    request: Request,
    caller: Annotated[Caller, allow(Action.READ_QUEUE, *DISTRICT_ROLES)],
    service: Svc,
    district: DistrictQuery = None,
    tier: Annotated[TierField | None, Query()] = None,
    undecided: bool = False,
    flagged: Annotated[bool, Query(description="only flagged children")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: CursorQuery = None,
    lang: Lang = None,
) -> FlagPage:
    """The queue: the latest batch's children of the caller's districts, highest score
    first, with the top three reasons and whether a decision was recorded since."""
    limit = min(limit, service.settings.page_size_max)
    asked = cases.QueueAsked(district, tier, undecided, flagged, limit, cursor)
    page = cases.read_queue(service, caller, asked)
    if page.batch is None:
        return FlagPage(batch=None, items=[], next_cursor=None)
    words = cases.reason_words(service, language(request, lang))
    return FlagPage(
        batch=BatchOut(**page.batch.__dict__),
        items=[flag_item(row, words) for row in page.rows],
        next_cursor=page.next_cursor,
    )
