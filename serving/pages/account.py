"""The pages' doors: the start page, the language switch, sign-in and sign-out."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from serving import i18n
from serving.access import Principal
from serving.audit import ANONYMOUS, Action
from serving.limits import CODE, OPTIONAL_IDENTIFIER, RETURN_PATH, SECRET, form, path, query
from serving.pages.render import render
from serving.pages.session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Session,
    audit_of,
    check_csrf,
    session,
    set_cookie,
)
from serving.service import client_of, service_of
from serving.signin import end_session, sign_in, start_session
from serving.vocabulary import DISTRICT_ROLES, REVIEW_ROLES, Role

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        return target
    return "/"


def _home(principal: Principal) -> str:
    if principal.role in REVIEW_ROLES:
        return "/review"
    if principal.role == Role.ADMIN:  # a batch that broke a check, seen without asking
        return "/monitoring"
    return "/queue" if principal.role in DISTRICT_ROLES else "/model"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    found = session(request)
    return RedirectResponse(_home(found) if found else "/login", status_code=303)


@router.get("/lang/{language}")
def switch_language(
    language: Annotated[str, path(CODE)],
    next: Annotated[str | None, query(RETURN_PATH)] = None,
) -> Response:
    """Remember a language (a cookie for a year) and go back to the page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


def _login_form(request: Request, next: str | None, status: int = 200, **context: Any) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", status=status, login_csrf=token, next=safe_next(next), **context
    )
    set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next: Annotated[str | None, query(RETURN_PATH)] = None
) -> Response:
    return _login_form(request, next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, form(OPTIONAL_IDENTIFIER)] = "",
    password: Annotated[str, form(SECRET)] = "",
    csrf: Annotated[str, form(CODE)] = "",
    next: Annotated[str, form(RETURN_PATH)] = "/",
) -> Response:
    """Sign in: throttled per client and per name from a client, every attempt audited;
    a name that exists and one that does not are answered alike."""
    service = service_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    check_csrf(audit_of(request, ANONYMOUS), Action.SIGN_IN, expected, csrf)
    limits = service.settings.failure_limits
    result = sign_in(service.engine, name, password, client_of(request), limits)
    if result.outcome != "ok" or result.principal is None:
        response = _login_form(
            request,
            next,
            status=401 if result.outcome == "wrong" else 429,
            failure=result.outcome,
            minutes=-(-(result.retry_after or 0) // 60),
            name=name,
        )
        if result.retry_after is not None:
            response.headers["Retry-After"] = str(result.retry_after)
        return response
    secret, _ = start_session(service.engine, result.principal)
    target = safe_next(next)
    signed_in = RedirectResponse(
        target if target != "/" else _home(result.principal), status_code=303
    )
    set_cookie(signed_in, request, SESSION_COOKIE, secret, max_age=8 * 3600)
    signed_in.delete_cookie(LOGIN_COOKIE, path="/")
    return signed_in


@router.post("/logout")
def logout(request: Request, signed_in: Session, csrf: Annotated[str, form(CODE)] = "") -> Response:
    audit = signed_in.caller.audit
    check_csrf(audit, Action.SIGN_OUT, signed_in.csrf, csrf)
    end_session(service_of(request).engine, request.cookies.get(SESSION_COOKIE))
    audit.done(Action.SIGN_OUT)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
