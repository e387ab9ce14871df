"""The records officers' pages: the linkage review queue (pairs of records, most
consequential first, and caseworkers' requests), a pair with its decision form, a
request with its answer form; and the caseworkers' request form's target, from the child
page. They call the same domain functions as the API (serving.review): the same checks,
the same audit records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from serving import review
from serving.access import Caller, admit
from serving.audit import Action
from serving.errors import InvalidError
from serving.limits import (
    CODE,
    CURSOR,
    IDENTIFIER,
    NOTE,
    OPTIONAL_IDENTIFIER,
    Rule,
    form,
    path,
    query,
)
from serving.pages import words
from serving.pages.errors import PageError
from serving.pages.render import render
from serving.pages.session import Session, check_csrf
from serving.service import Service, service_of
from serving.store.review import MAX_ID
from serving.vocabulary import DISTRICT_ROLES, REVIEW_ROLES, LinkRequestKind, PairDecision, codes

router = APIRouter(include_in_schema=False)
PAGE_SIZE: Final = 10
REQUESTS_SHOWN: Final = 50
NOTICES: Final = ("decided", "answered")
PairId = Annotated[int, Path(ge=1, le=MAX_ID)]
# a record as a form names it: "source:record_id"
RECORD: Final = Rule(
    "identifier", 0, 97, OPTIONAL_IDENTIFIER.pattern, "at most 97 characters, no control character"
)


def _likely(service: Service) -> Callable[[float], str]:
    """A match probability in words (serving.pages.words.likelihood, by the linkage
    policy's thresholds): a message for the templates to translate."""
    return lambda probability: words.likelihood(probability, service.linkage)


def _districts(service: Service, caller: Caller) -> list[str]:
    """What the district filter offers: the officer's districts, or all for a city-wide one."""
    return sorted(caller.principal.districts or service.deployment.districts)


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    signed_in: Session,
    district: Annotated[str | None, query(OPTIONAL_IDENTIFIER)] = None,
    cursor: Annotated[str | None, query(CURSOR)] = None,
    notice: Annotated[str | None, query(CODE)] = None,
) -> Response:
    """The queue: open pairs as cards (the two records side by side), then the open
    requests (on the first page)."""
    caller = signed_in.caller
    admit(caller, Action.READ_REVIEW, REVIEW_ROLES)
    service = service_of(request)
    district = district or None
    try:
        page = review.read_review(service, caller, review.ReviewAsked(district, PAGE_SIZE, cursor))
    except InvalidError as exc:  # a cursor this service did not issue
        raise PageError(400, "cursor") from exc
    requests = [] if cursor else review.read_requests(service, caller, district, REQUESTS_SHOWN)
    following = page.next_cursor
    shown = {"district": district} if district else {}
    return render(
        request,
        "review.html",
        user=caller.principal,
        csrf=signed_in.csrf,
        pairs=page.rows,
        requests=requests,
        likely=_likely(service),
        district=district or "",
        districts=_districts(service, caller),
        notice=notice if notice in NOTICES else None,
        more=f"/review?{urlencode({**shown, 'cursor': following})}" if following else None,
    )


@router.get("/review/{pair_id}", response_class=HTMLResponse)
def pair_page(request: Request, pair_id: PairId, signed_in: Session) -> Response:
    """A pair, open or decided, and the form to decide it."""
    caller = signed_in.caller
    admit(caller, Action.READ_REVIEW, REVIEW_ROLES)
    service = service_of(request)
    return render(
        request,
        "review_pair.html",
        user=caller.principal,
        csrf=signed_in.csrf,
        pair=review.read_pair(service, caller, pair_id),
        likely=_likely(service),
        decisions=codes(PairDecision),
    )


@router.post("/review/{pair_id}")
def decide_pair(
    request: Request,
    pair_id: PairId,
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    decision: Annotated[str, form(CODE)] = "",
    note: Annotated[str, form(NOTE)] = "",
) -> Response:
    caller = signed_in.caller
    check_csrf(caller.audit, Action.DECIDE_PAIR, signed_in.csrf, csrf)
    admit(caller, Action.DECIDE_PAIR, REVIEW_ROLES)
    decided = review.PairDecided(decision, note)
    review.decide_pair(service_of(request), caller, pair_id, decided)
    return RedirectResponse("/review?notice=decided", status_code=303)


@router.get("/review/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: PairId, signed_in: Session) -> Response:
    """A caseworker's request, its children side by side with their records, and the
    form to answer it with a decision on two of those records."""
    caller = signed_in.caller
    admit(caller, Action.READ_REVIEW, REVIEW_ROLES)
    return render(
        request,
        "review_request.html",
        user=caller.principal,
        csrf=signed_in.csrf,
        asked=review.read_request(service_of(request), caller, request_id),
        decisions=codes(PairDecision),
    )


def _record(value: str, field: str) -> tuple[str, str]:
    """A record a form names ("source:record_id"); InvalidError naming ``field``."""
    source, _, record_id = value.partition(":")
    if not (IDENTIFIER.at_most(32).matches(source) and IDENTIFIER.matches(record_id)):
        raise InvalidError(field, "records", f"{field}: choose a record", "body")
    return source, record_id


@router.post("/review/requests/{request_id}")
def answer_request(
    request: Request,
    request_id: PairId,
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    record_l: Annotated[str, form(RECORD)] = "",
    record_r: Annotated[str, form(RECORD)] = "",
    decision: Annotated[str, form(CODE)] = "",
    note: Annotated[str, form(NOTE)] = "",
) -> Response:
    caller = signed_in.caller
    check_csrf(caller.audit, Action.DECIDE_PAIR, signed_in.csrf, csrf)
    admit(caller, Action.DECIDE_PAIR, REVIEW_ROLES)
    left, right = _record(record_l, "record_l"), _record(record_r, "record_r")
    decided = review.RecordsDecided(left, right, decision, note)
    review.answer_request(service_of(request), caller, request_id, decided)
    return RedirectResponse("/review?notice=answered", status_code=303)


@router.post("/children/{child_id}/link-requests")
def request_link(
    request: Request,
    child_id: Annotated[str, path(IDENTIFIER)],
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    kind: Annotated[str, form(CODE)] = "",
    other_child_id: Annotated[str, form(OPTIONAL_IDENTIFIER)] = "",
    reason: Annotated[str, form(NOTE)] = "",
) -> Response:
    """A caseworker's or supervisor's request from the child page (link_request.html)."""
    caller = signed_in.caller
    check_csrf(caller.audit, Action.REQUEST_LINK, signed_in.csrf, csrf)
    admit(caller, Action.REQUEST_LINK, DISTRICT_ROLES)
    other = other_child_id.strip() if kind == LinkRequestKind.MERGE else ""
    asked = review.LinkAsked(kind, other or None, reason)
    review.request_link(service_of(request), caller, child_id, asked)
    return RedirectResponse(
        f"/children/{quote(child_id)}?link_request=sent#link-request", status_code=303
    )
