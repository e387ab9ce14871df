"""Recording a caseworker's decision about a child, from the child page's form. It calls
the same domain function as the API (serving.cases.record_decision), with the same
checks and the same audit record.

Nothing is chosen for the caseworker: agreeing or overriding is a choice they make (a
default would nudge). A refused form comes back with everything typed kept and the
field at fault named and linked; a saved one goes back to the child's page, which says
so; the same decision sent twice is stored once."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from serving import cases
from serving.access import admit
from serving.audit import Action
from serving.errors import InvalidError
from serving.limits import CODE, IDENTIFIER, NOTE, form, path
from serving.pages.render import render
from serving.pages.session import Session, check_csrf
from serving.service import service_of
from serving.store.decisions import RepeatedDecisionError
from serving.vocabulary import DISTRICT_ROLES, DecisionAction, OverrideReason, codes

router = APIRouter(include_in_schema=False)
AGREEMENT: Final = {"yes": True, "no": False}
FIELDS: Final = ("action", "agrees", "reason_code", "note")  # the form's, in its order


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
    typed = dict(zip(FIELDS, (action, agrees, reason_code, note), strict=True))
    try:
        if agrees not in AGREEMENT:
            raise InvalidError("agrees", "decision", "agrees: yes or no", where="body")
        decided = cases.Decided(action, AGREEMENT[agrees], reason_code or None, note)
        stored = cases.record_decision(service_of(request), caller, child_id, decided)
    except RepeatedDecisionError:
        return _again(request, signed_in, child_id, typed, "repeated", 409)
    except InvalidError as exc:
        return _again(request, signed_in, child_id, typed, exc.field or "invalid", 400)
    saved = f"/children/{quote(child_id)}?saved={stored['id']}#decisions"
    return RedirectResponse(saved, status_code=303)


def _again(
    request: Request,
    signed_in: Session,
    child_id: str,
    typed: dict[str, str],
    problem: str,
    status: int,
) -> Response:
    """The form again, as the caseworker filled it, with what was wrong named and linked
    to its field."""
    return render(
        request,
        "decision_page.html",
        status=status,
        user=signed_in.principal,
        csrf=signed_in.csrf,
        decision_child=child_id,
        form=typed,
        problem=problem,
        problem_field=problem if problem in FIELDS else "action",
        actions=codes(DecisionAction),
        reasons=codes(OverrideReason),
        saved=None,
    )
