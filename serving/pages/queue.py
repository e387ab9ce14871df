"""The queue page: the latest batch's children in the caller's districts, highest score
first, each with the reasons behind their score. It calls the same domain functions as
the API (serving.cases): never a second path to the data, and the same audit records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from models.flagging import TIERS
from serving import cases
from serving.access import admit
from serving.audit import Action
from serving.errors import InvalidError
from serving.limits import CODE, CURSOR, OPTIONAL_IDENTIFIER, query
from serving.monitoring import latest_problems
from serving.pages.checks import served_registry, subject_words
from serving.pages.errors import PageError
from serving.pages.render import language_of, render
from serving.pages.session import Session
from serving.service import service_of
from serving.store.queue import ORDERS
from serving.vocabulary import DISTRICT_ROLES, MONITORING_ROLES

router = APIRouter(include_in_schema=False)
PAGE_SIZE: Final = 25


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    signed_in: Session,
    district: Annotated[str | None, query(OPTIONAL_IDENTIFIER)] = None,
    tier: Annotated[str | None, query(CODE)] = None,
    undecided: bool = False,
    order: Annotated[str, query(CODE)] = ORDERS[0],
    cursor: Annotated[str | None, query(CURSOR)] = None,
) -> Response:
    """The flagged children; with a tier chosen, every child of that tier, flagged or not
    (the tiers below the flagging tier hold no flagged child)."""
    caller = signed_in.caller
    admit(caller, Action.READ_QUEUE, DISTRICT_ROLES)
    service = service_of(request)
    district, tier = district or None, (tier if tier in TIERS else None)
    if order not in ORDERS:
        raise PageError(400, "order")
    flagged = tier is None
    asked = cases.QueueAsked(district, tier, undecided, flagged, PAGE_SIZE, cursor, order)
    try:
        page = cases.read_queue(service, caller, asked)
    except InvalidError as exc:  # a cursor this service did not issue
        raise PageError(400, "cursor") from exc
    cases.with_flagged_since(service, page)
    _with_reasons(page.rows, cases.reason_words(service, language_of(request)))
    filters = {"district": district or "", "tier": tier or "", "undecided": undecided}
    filters["order"] = order if order != ORDERS[0] else ""
    shown = {key: value for key, value in filters.items() if value}
    following = page.next_cursor
    return render(
        request,
        "queue.html",
        user=caller.principal,
        csrf=signed_in.csrf,
        batch=page.batch,
        rows=page.rows,
        counts=cases.read_queue_counts(service, caller, district),
        policy=service.flagging,
        filters=filters,
        districts=sorted(caller.principal.districts),
        tiers=TIERS,
        orders=ORDERS,
        more=f"/queue?{urlencode({**shown, 'cursor': following})}" if following else None,
        problems=latest_problems(service),
        subject=subject_words(language_of(request), served_registry(service)),
        sees_model=caller.principal.role in MONITORING_ROLES,
    )


def _with_reasons(rows: list[dict[str, Any]], said: Callable[[str, Any], str]) -> None:
    for row in rows:
        row["reason_labels"] = [said(r["factor"], r.get("value")) for r in row["reasons"]]
