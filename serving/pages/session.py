"""Sign-in and sessions for the pages, and their CSRF checks.

A user's password (serving.signin) opens a session. Its cookie is HttpOnly and
SameSite=Lax, and Secure when the service runs behind TLS. Every form posts the
session's CSRF token; sign-in posts a double-submit token of its own. Failures are
throttled per client (serving.throttle), never by locking a user out.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.responses import Response

from serving.access import Caller, Principal
from serving.audit import Action, Actor, Audit
from serving.errors import ForbiddenError
from serving.pages.errors import SignInRequiredError
from serving.service import client_of, service_of
from serving.signin import same_token, session_of

SESSION_COOKIE: Final = "rf_session"
LOGIN_COOKIE: Final = "rf_login"


def audit_of(request: Request, who: Actor) -> Audit:
    """The audit trail of ``who`` asking from this request's client."""
    return Audit(service_of(request).engine, who, client_of(request))


def session(request: Request) -> Principal | None:
    found = session_of(service_of(request).engine, request.cookies.get(SESSION_COOKIE))
    return found[0] if found else None


class SignedIn:
    """A signed-in caller and their session's CSRF token."""

    def __init__(self, caller: Caller, csrf: str) -> None:
        self.caller, self.csrf = caller, csrf

    @property
    def principal(self) -> Principal:
        return self.caller.principal


def _signed_in(request: Request) -> SignedIn:
    found = session_of(service_of(request).engine, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise SignInRequiredError
    principal, csrf = found
    return SignedIn(Caller(principal, audit_of(request, principal)), csrf)


Session = Annotated[SignedIn, Depends(_signed_in)]


def check_csrf(audit: Audit, action: Action, expected: str, given: str) -> None:
    """Nothing if the form carried its token; otherwise ForbiddenError (reason ``csrf``),
    the refusal audited as a denied ``action``."""
    if not same_token(expected, given):
        audit.refused(action)
        raise ForbiddenError("the form's token is missing or wrong", reason="csrf")


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=service_of(request).settings.tls,
        path="/",
    )
