"""The supervisor's page: how decisions went in their districts over the last 7, 30 or
90 days (by worker, district and override reason, with override rates), the flagged
children nobody has decided about yet, and a form beside each to assign the child to a
caseworker. It calls the same domain functions as the API (serving.supervision), with
the same checks and the same audit records.

An assignment posted goes back to the page, which says it was saved; one refused (an
assignee who may not take the child) comes back with the reason, and what was chosen
and typed kept."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from serving import supervision
from serving.access import admit
from serving.audit import Action
from serving.errors import InvalidError
from serving.limits import CODE, IDENTIFIER, NOTE, OPTIONAL_IDENTIFIER, form, path, query
from serving.pages.render import render
from serving.pages.session import Session, SignedIn, check_csrf
from serving.service import service_of

router = APIRouter(include_in_schema=False)
Days = supervision.Period
SHOWN: Final = 100  # the children not yet reviewed shown on the page


@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(
    request: Request,
    signed_in: Session,
    days: Annotated[Days, Query()] = Days.MONTH,
    saved: Annotated[str | None, query(IDENTIFIER)] = None,
) -> Response:
    admit(signed_in.caller, Action.READ_SUPERVISION, supervision.SUPERVISORS)
    return _page(request, signed_in, days, saved=saved)


@router.post("/children/{child_id}/assignment")
def assign(
    request: Request,
    child_id: Annotated[str, path(IDENTIFIER)],
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    assignee: Annotated[str, form(OPTIONAL_IDENTIFIER)] = "",
    note: Annotated[str, form(NOTE)] = "",
    days: Annotated[Days, Query()] = Days.MONTH,
) -> Response:
    caller = signed_in.caller
    check_csrf(caller.audit, Action.ASSIGN_CHILD, signed_in.csrf, csrf)
    admit(caller, Action.ASSIGN_CHILD, supervision.SUPERVISORS)
    service = service_of(request)
    try:
        supervision.assign_child(service, caller, child_id, assignee or None, note)
    except InvalidError as exc:
        typed = {"child_id": child_id, "assignee": assignee, "note": note}
        problem = exc.field if exc.field in ("assignee", "note") else "invalid"
        return _page(request, signed_in, days, typed=typed, problem=problem, status=400)
    done = f"/supervision?days={int(days)}&saved={quote(child_id)}#not-reviewed"
    return RedirectResponse(done, status_code=303)


def _page(
    request: Request,
    signed_in: SignedIn,
    days: int,
    saved: str | None = None,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    service, caller = service_of(request), signed_in.caller
    summary = supervision.read_summary(service, caller, days, None)
    waiting = supervision.read_unreviewed(service, caller, None, SHOWN)
    context: dict[str, Any] = {
        "summary": summary,
        "periods": supervision.PERIODS,
        "waiting": waiting,
        "saved": saved,
        "saved_to": waiting.assignees.get(saved) if saved else None,
        "typed": typed or {},
        "problem": problem,
    }
    return render(
        request,
        "supervision.html",
        status=status,
        user=caller.principal,
        csrf=signed_in.csrf,
        **context,
    )
