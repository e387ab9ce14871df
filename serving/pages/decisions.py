"""Recording a caseworker's decision about a child, from the child page's form. It calls
the same domain function as the API (serving.cases.record_decision), with the same
checks and the same audit record."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from serving import cases
from serving.access import admit
from serving.audit import Action
from serving.limits import CODE, IDENTIFIER, NOTE, form, path
from serving.pages.session import Session, check_csrf
from serving.service import service_of
from serving.vocabulary import DISTRICT_ROLES

router = APIRouter(include_in_schema=False)


@router.post("/children/{child_id}/decisions")
def decide(
    request: Request,
    child_id: Annotated[str, path(IDENTIFIER)],
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    action: Annotated[str, form(CODE)] = "",
    agrees: Annotated[str, form(CODE)] = "",
    reason_code: Annotated[str, form(CODE)] = "",
    note: Annotated[str, form(NOTE)] = "",
) -> Response:
    caller = signed_in.caller
    check_csrf(caller.audit, Action.RECORD_DECISION, signed_in.csrf, csrf)
    admit(caller, Action.RECORD_DECISION, DISTRICT_ROLES)
    decided = cases.Decided(action, agrees == "yes", reason_code or None, note)
    cases.record_decision(service_of(request), caller, child_id, decided)
    return RedirectResponse(f"/children/{quote(child_id)}#decisions", status_code=303)
