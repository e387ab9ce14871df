"""Correcting a record from the pages: a supervisor opens "Correct this record" beside a
record of the child's history, says what is wrong (disputed, corrected with the amended
fields, or expunged), why, who confirmed it and the reference, and goes back to the
child's page, which shows the score before and after. The same domain function as the
API (serving.corrections.correct_record): the same checks, rescoring and audit record.

A refused form comes back with everything typed kept and the field at fault named."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import features.corrections as fc
import features.schema as s
from features.vocabulary import DETAIL_LABELS
from serving import corrections
from serving.access import admit
from serving.audit import Action
from serving.errors import ConflictError, InvalidError
from serving.limits import CODE, IDENTIFIER, NOTE, form, path
from serving.pages.child import event_labeller
from serving.pages.render import language_of, render
from serving.pages.session import Session, check_csrf
from serving.service import service_of
from serving.vocabulary import Role

router = APIRouter(include_in_schema=False)
CORRECTING_ROLES: Final = (Role.SUPERVISOR,)  # records officers correct through the API
RecordId = Annotated[str, path(IDENTIFIER.at_most(128))]
FIELDS: Final = ("kind", "reason", "confirmed_by", "reference", *fc.AMENDABLE)


@router.get("/records/{event_id}/correct", response_class=HTMLResponse)
def correction_form(request: Request, event_id: RecordId, signed_in: Session) -> Response:
    caller = signed_in.caller
    admit(caller, Action.READ_HISTORY, CORRECTING_ROLES)
    record = corrections.read_record(service_of(request), caller, event_id)
    return _form(request, signed_in, record, {}, None, 200)


@router.post("/records/{event_id}/corrections")
def correct(
    request: Request,
    event_id: RecordId,
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    kind: Annotated[str, form(CODE)] = "",
    reason: Annotated[str, form(NOTE.at_most(corrections.MAX_REASON))] = "",
    confirmed_by: Annotated[str, form(NOTE.at_most(corrections.MAX_CONFIRMED_BY))] = "",
    reference: Annotated[str, form(NOTE.at_most(corrections.MAX_REFERENCE))] = "",
    event_type: Annotated[str, form(CODE)] = "",
    occurred_at: Annotated[str, form(CODE.at_most(32))] = "",
    severity: Annotated[str, form(CODE.at_most(4))] = "",
    amount: Annotated[str, form(NOTE.at_most(32))] = "",
    detail: Annotated[str, form(CODE)] = "",
) -> Response:
    caller = signed_in.caller
    check_csrf(caller.audit, Action.CORRECT_RECORD, signed_in.csrf, csrf)
    admit(caller, Action.CORRECT_RECORD, CORRECTING_ROLES)
    service = service_of(request)
    typed = dict(zip(FIELDS, (kind, reason, confirmed_by, reference, event_type,
                              occurred_at, severity, amount, detail), strict=True))  # fmt: skip
    amended = {name: typed[name] for name in fc.AMENDABLE if typed[name].strip()}
    asked = corrections.Asked(
        kind,
        reason,
        confirmed_by,
        reference,
        amended if kind == fc.CorrectionKind.CORRECTED else {},
    )
    try:
        stored = corrections.correct_record(service, caller, event_id, asked)
    except (InvalidError, ConflictError) as exc:
        record = corrections.read_record(service, caller, event_id)
        problem = getattr(exc, "field", None) or exc.code
        return _form(
            request, signed_in, record, typed, problem, 409 if exc.code == "expunged" else 400
        )
    done = f"/children/{quote(stored['child_id'])}?corrected={stored['id']}#corrections"
    return RedirectResponse(done, status_code=303)


def _form(
    request: Request,
    signed_in: Session,
    record: dict[str, object],
    typed: dict[str, str],
    problem: str | None,
    status: int,
) -> Response:
    return render(
        request,
        "correction_form.html",
        status=status,
        user=signed_in.principal,
        csrf=signed_in.csrf,
        record=record,
        form=typed,
        problem=problem,
        kinds=fc.KINDS,
        event_types=s.EVENT_TYPES,
        details={code: _detail(code, language_of(request)) for code in s.DETAIL_CODES},
        event_label=event_labeller(language_of(request)),
    )


def _detail(code: str, language: str) -> str:
    label = DETAIL_LABELS.get(code)
    if label is None:
        return code
    return label.zh if language == "zh-CN" else label.en
