"""How the pages answer what went wrong: a page in the reader's language naming the
reason (the message catalogue's words for it), with the status of serving.status;
without a session, the sign-in page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from serving.errors import DomainError, ForbiddenError, InvalidError
from serving.pages.render import render
from serving.status import status_of


class SignInRequiredError(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class PageError(Exception):
    """A page-level refusal of the pages' own (a cursor, a form), shown as a page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def reason_of(exc: DomainError) -> str:
    """The reason a page names: which rule refused (role, district, csrf), which field
    of a decision was wrong, else the error's code."""
    if isinstance(exc, ForbiddenError):
        return exc.reason
    if isinstance(exc, InvalidError) and exc.rule == "decision" and exc.field:
        return exc.field
    return exc.code


def domain_page(request: Request, exc: DomainError) -> Response:
    return render(request, "error.html", status=status_of(exc), reason=reason_of(exc))


def invalid_page(request: Request) -> Response:
    """A page's field that breaks its rule (serving.limits)."""
    return render(request, "error.html", status=422, reason="invalid")


def page_error(request: Request, exc: PageError) -> Response:
    return render(request, "error.html", status=exc.status, reason=exc.reason)
