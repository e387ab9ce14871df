"""The family summary's page: printable (print styles, no script), in the language the
caseworker reads the pages in (serving.family)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from serving.family import family_summary
from serving.limits import IDENTIFIER, path
from serving.pages.child import event_labeller
from serving.pages.render import language_of, render
from serving.pages.session import Session
from serving.service import service_of

router = APIRouter(include_in_schema=False)


@router.get("/children/{child_id}/family-summary", response_class=HTMLResponse)
def family_page(
    request: Request, child_id: Annotated[str, path(IDENTIFIER)], signed_in: Session
) -> Response:
    language = language_of(request)
    summary = family_summary(service_of(request), signed_in.caller, child_id, language)
    return render(
        request,
        "family_summary.html",
        user=signed_in.principal,
        csrf=signed_in.csrf,
        summary=summary,
        per_hundred=summary.risk.view.probability * 100,
        event_label=event_labeller(language),
    )
