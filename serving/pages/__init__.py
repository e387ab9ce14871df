"""The caseworkers' and supervisors' pages: server-rendered (Jinja2), in Simplified Chinese
and English, served by the service's own app.

- account: the start page, the language, sign-in and sign-out;
- queue: the queue; child: a child's page; decisions: recording a decision;
  corrections: correcting a record of the child's history; family: the family summary;
  household: marking a household member as apart from the child (household control);
- model: the model page (supervisors, analysts); monitoring: the monitoring page
  (supervisors, analysts, admins: an admin's home); charts: its charts, as SVG;
  statistics: the division's statistics (supervisors, analysts) and their files;
- supervision: the supervisor's page (decisions by worker, assignments);
- review: the linkage review queue (records officers) and caseworkers' link requests;
- session: sessions and CSRF; render: templates, language, headers; errors: error pages;
  words: the pages' words for each vocabulary.

The pages call the domain (serving.access, serving.risk, serving.cases) exactly as the
API does, and never import serving.api.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from serving.pages import (
    account,
    child,
    corrections,
    decisions,
    family,
    household,
    model,
    monitoring,
    queue,
    review,
    statistics,
    supervision,
)
from serving.pages.errors import PageError, SignInRequiredError, page_error
from serving.pages.render import here


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their own error pages to the app."""
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("serving") / "static")),
        name="static",
    )
    rooms = (account, queue, child, decisions, corrections, family, household, model, review)
    for room in (*rooms, monitoring, statistics, supervision):
        app.include_router(room.router)

    @app.exception_handler(SignInRequiredError)
    async def sign_in_first(request: Request, _: SignInRequiredError) -> Response:
        return RedirectResponse(f"/login?next={quote(here(request))}", status_code=303)

    @app.exception_handler(PageError)
    async def refused(request: Request, exc: PageError) -> Response:
        return page_error(request, exc)
