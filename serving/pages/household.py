"""Household control from the pages: on the child's page, each household member whose
records count for the child (association features) is named, with the score the child
would have without them; a caseworker or supervisor marks a member as not living with
the child, or not in contact (or contact resumed), with the date and a reason, and goes
back to the child's page, which shows the score before and after. The same domain
function as the API (serving.separations.separate_member): the same checks, rescoring
and audit record.

A refused form comes back with everything typed kept and the field at fault named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import features.separations as fs
from serving import separations
from serving.access import admit
from serving.audit import Action
from serving.errors import InvalidError
from serving.identity import Who, read_identity
from serving.limits import CODE, IDENTIFIER, NOTE, form, path
from serving.pages.render import render
from serving.pages.session import Session, check_csrf
from serving.service import service_of
from serving.vocabulary import DISTRICT_ROLES
from serving.whatif import WhatIf, Without

router = APIRouter(include_in_schema=False)
ChildId = Annotated[str, path(IDENTIFIER)]


@dataclass(frozen=True)
class MemberLine:
    """A household member as the child page shows them under household control."""

    member_id: str
    name: str | None  # None: a member in another district, shown without a name
    without: Without | None  # the child's score without their records (None: none count)
    marking: Mapping[str, Any] | None  # the pair's latest marking, if any


def member_lines(
    who: Who, what_if: WhatIf | None, markings: Sequence[Mapping[str, Any]]
) -> list[MemberLine]:
    """The members whose records count for the child now, and those marked before."""
    names = {p.child_id: p.name or p.child_id for p in who.siblings if p.child_id}
    counting = what_if.by_member if what_if else {}
    latest: dict[str, Mapping[str, Any]] = {}
    for row in sorted(markings, key=lambda r: (r["since"], r["id"])):
        latest[row["member_id"]] = row
    members = sorted({*counting, *latest})
    return [MemberLine(m, names.get(m), counting.get(m), latest.get(m)) for m in members]


@router.get("/children/{child_id}/household/{member_id}/separate", response_class=HTMLResponse)
def separation_form(
    request: Request, child_id: ChildId, member_id: ChildId, signed_in: Session
) -> Response:
    caller = signed_in.caller
    admit(caller, Action.READ_HISTORY, DISTRICT_ROLES)
    return _form(request, signed_in, child_id, member_id, {}, None, 200)


@router.post("/children/{child_id}/separations")
def separate(
    request: Request,
    child_id: ChildId,
    signed_in: Session,
    csrf: Annotated[str, form(CODE)] = "",
    member_id: Annotated[str, form(IDENTIFIER)] = "",
    kind: Annotated[str, form(CODE)] = "",
    since: Annotated[str, form(CODE.at_most(10))] = "",
    reason: Annotated[str, form(NOTE.at_most(separations.MAX_REASON))] = "",
) -> Response:
    caller = signed_in.caller
    check_csrf(caller.audit, Action.SEPARATE_MEMBER, signed_in.csrf, csrf)
    admit(caller, Action.SEPARATE_MEMBER, DISTRICT_ROLES)
    service = service_of(request)
    typed = {"kind": kind, "since": since, "reason": reason}
    try:
        day = _day(since)
        marked = separations.Marked(member_id, kind, day, reason)
        stored = separations.separate_member(service, caller, child_id, marked)
    except InvalidError as exc:
        return _form(request, signed_in, child_id, member_id, typed, exc.field or exc.code, 400)
    done = f"/children/{quote(child_id)}?separated={stored['id']}#household-control"
    return RedirectResponse(done, status_code=303)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidError("since", "date", "since: a date, YYYY-MM-DD", "body") from None


def _form(
    request: Request,
    signed_in: Session,
    child_id: str,
    member_id: str,
    typed: dict[str, str],
    problem: str | None,
    status: int,
) -> Response:
    service = service_of(request)
    caller = signed_in.caller
    who = read_identity(service, caller, child_id)
    markings = separations.read_separations(service, caller, child_id)
    mine = [row for row in markings if row["member_id"] == member_id]
    name = next((p.name or p.child_id for p in who.siblings if p.child_id == member_id), None)
    return render(
        request,
        "separation_form.html",
        status=status,
        user=signed_in.principal,
        csrf=signed_in.csrf,
        child_id=child_id,
        child_name=who.child.name,
        member_id=member_id,
        member_name=name,
        markings=mine,
        form=typed,
        problem=problem,
        kinds=fs.KINDS,
    )
