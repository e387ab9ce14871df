"""The caseworkers' and supervisors' pages: server-rendered (Jinja2), in Simplified Chinese
and English, served by the API's own app and calling the same service functions as the
API (serving.api.stored_risk, reach_child, serving.casework): never a second path to the
data, and the same audit records.

Sign-in: a user's password (serving.signin) opens a session. Its cookie is HttpOnly and
SameSite=Lax, and Secure when the service runs behind TLS. Every form posts the
session's CSRF token; sign-in posts a double-submit token of its own. Repeated failures
lock the user.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from functools import cache
from importlib import resources
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from features.vocabulary import DETAIL_LABELS, EVENT_LABELS
from models.flagging import TIERS
from serving import casework, i18n
from serving.api import (
    ApiError,
    _client,
    _service,
    audited_queue,
    invalid_request,
    reach_child,
    reason_labeller,
    stored_risk,
)
from serving.audit import ANONYMOUS, Action, Actor, record
from serving.casework import ACTIONS, OVERRIDE_REASONS, CaseworkError
from serving.champion import ModelUnavailableError
from serving.limits import (
    CODE,
    CURSOR,
    IDENTIFIER,
    NOTE,
    OPTIONAL_IDENTIFIER,
    RETURN_PATH,
    SECRET,
    form,
    path,
    query,
)
from serving.signin import end_session, same_token, session_of, sign_in, start_session
from serving.users import DISTRICT_ROLES, Principal

SESSION_COOKIE: Final = "rf_session"
LOGIN_COOKIE: Final = "rf_login"
MODEL_ROLES: Final = ("supervisor", "analyst")
PAGE_SIZE: Final = 25
API_PATHS: Final = ("/v1/", "/healthz", "/readyz", "/docs", "/openapi.json")


class SignInRequiredError(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class PageError(Exception):
    """A page-level refusal (403, 404, ...), shown as a page in the user's language."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("serving", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def _language(request: Request) -> str:
    return i18n.chosen(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def _render(
    request: Request,
    template: str,
    status: int = 200,
    user: Principal | None = None,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    language = _language(request)
    env = _environment(language)
    page = env.get_template(template).render(
        lang=language,
        languages=i18n.NAMES,
        fmt=i18n.Formats(language),
        user=user,
        csrf=csrf,
        path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # children's data stays out of caches
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _signed_in(request: Request) -> tuple[Principal, str]:
    found = session_of(_service(request).engine, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise SignInRequiredError
    return found


SignedIn = Annotated[tuple[Principal, str], Depends(_signed_in)]


def _refuse(
    request: Request,
    who: Actor,
    action: Action,
    reason: str,
    status: int = 403,
    district: str | None = None,
) -> PageError:
    """A refusal, audited as a denied ``action``, for the caller to raise."""
    with _service(request).engine.begin() as connection:
        record(connection, who, action, "denied", district=district, client=_client(request))
    return PageError(status, reason)


def _check_csrf(request: Request, who: Actor, action: Action, expected: str, given: str) -> None:
    if not same_token(expected, given):
        raise _refuse(request, who, action, "csrf")


def _safe_next(target: str | None) -> str:
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
    if principal.role in DISTRICT_ROLES:
        return "/queue"
    return "/model"


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to the API's app."""
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("serving") / "static")),
        name="static",
    )
    app.include_router(router)

    @app.exception_handler(SignInRequiredError)
    async def sign_in_first(request: Request, _: SignInRequiredError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return _render(request, "error.html", status=exc.status, reason=exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        """A page's field that breaks its rule (serving.limits) is a page in the user's
        language; the API's is its JSON."""
        if request.url.path.startswith(API_PATHS):
            return invalid_request(exc)
        return _render(request, "error.html", status=422, reason="invalid")


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    found = session_of(_service(request).engine, request.cookies.get(SESSION_COOKIE))
    return RedirectResponse(_home(found[0]) if found else "/login", status_code=303)


@router.get("/lang/{language}")
def switch_language(
    language: Annotated[str, path(CODE)],
    next: Annotated[str | None, query(RETURN_PATH)] = None,
) -> Response:
    """Remember a language (a cookie for a year) and go back to the page."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next: Annotated[str | None, query(RETURN_PATH)] = None
) -> Response:
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", login_csrf=token, next=_safe_next(next))
    _cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_service(request).settings.tls,
        path="/",
    )


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
    service = _service(request)
    _check_csrf(request, ANONYMOUS, Action.SIGN_IN, request.cookies.get(LOGIN_COOKIE, ""), csrf)
    result = sign_in(
        service.engine, name, password, _client(request), service.settings.failure_limits
    )
    if result.outcome != "ok" or result.principal is None:
        token = secrets.token_urlsafe(24)
        response = _render(
            request,
            "login.html",
            status=401 if result.outcome == "wrong" else 429,
            login_csrf=token,
            next=_safe_next(next),
            failure=result.outcome,
            minutes=-(-(result.retry_after or 0) // 60),
            name=name,
        )
        if result.retry_after is not None:
            response.headers["Retry-After"] = str(result.retry_after)
        _cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
        return response
    secret, _ = start_session(service.engine, result.principal)
    target = _safe_next(next)
    signed_in = RedirectResponse(
        target if target != "/" else _home(result.principal), status_code=303
    )
    _cookie(signed_in, request, SESSION_COOKIE, secret, max_age=8 * 3600)
    signed_in.delete_cookie(LOGIN_COOKIE, path="/")
    return signed_in


@router.post("/logout")
def logout(request: Request, session: SignedIn, csrf: Annotated[str, form(CODE)] = "") -> Response:
    principal, expected = session
    _check_csrf(request, principal, Action.SIGN_OUT, expected, csrf)
    end_session(_service(request).engine, request.cookies.get(SESSION_COOKIE))
    with _service(request).engine.begin() as connection:
        record(connection, principal, Action.SIGN_OUT, "allowed", client=_client(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _casework_only(request: Request, principal: Principal, action: Action) -> None:
    if principal.role not in DISTRICT_ROLES:
        raise _refuse(request, principal, action, "role")


def _event_labeller(language: str) -> Callable[[str, str | None], str]:
    def label(event_type: str, detail: str | None) -> str:
        kind = EVENT_LABELS.get(str(event_type))
        words = (kind.zh if language == "zh-CN" else kind.en) if kind else str(event_type)
        code = DETAIL_LABELS.get(str(detail)) if detail else None
        if code is None:
            return words
        return f"{words}（{code.zh}）" if language == "zh-CN" else f"{words} ({code.en})"

    return label


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SignedIn,
    district: Annotated[str | None, query(OPTIONAL_IDENTIFIER)] = None,
    tier: Annotated[str | None, query(CODE)] = None,
    undecided: bool = False,
    cursor: Annotated[str | None, query(CURSOR)] = None,
) -> Response:
    principal, csrf = session
    _casework_only(request, principal, Action.READ_QUEUE)
    service = _service(request)
    district = district or None
    tier = tier if tier in TIERS else None
    if district is not None and district not in principal.districts:
        raise _refuse(request, principal, Action.READ_QUEUE, "district", district=district)
    districts = [district] if district else sorted(principal.districts)
    client = _client(request)
    with service.engine.begin() as connection:
        batch = casework.latest_batch(connection)
        rows: list[dict[str, Any]] = []
        following = None
        if batch is not None:
            try:
                rows, following = audited_queue(
                    connection,
                    principal,
                    batch,
                    districts,
                    tier,
                    undecided,
                    True,
                    PAGE_SIZE,
                    cursor,
                    client,
                )
            except CaseworkError as exc:
                raise PageError(400, "cursor") from exc
            first = casework.first_flagged(connection, [row["child_id"] for row in rows])
            for row in rows:
                row["flagged_since"] = first.get(row["child_id"])
    label = reason_labeller(service, _language(request))  # type: ignore[arg-type]
    for row in rows:
        row["reason_labels"] = [
            label(reason["factor"], reason.get("value")) for reason in row["reasons"]
        ]
    today = date.today()
    filters = {"district": district or "", "tier": tier or "", "undecided": undecided}
    more = (
        "/queue?" + urlencode({**{k: v for k, v in filters.items() if v}, "cursor": following})
        if following
        else None
    )
    return _render(
        request,
        "queue.html",
        user=principal,
        csrf=csrf,
        batch=batch,
        rows=rows,
        today=today,
        filters=filters,
        districts=sorted(principal.districts),
        tiers=TIERS,
        more=more,
    )


@router.get("/children/{child_id}", response_class=HTMLResponse)
def child_page(
    request: Request,
    child_id: Annotated[str, path(IDENTIFIER)],
    session: SignedIn,
    as_of: Annotated[date | None, Query()] = None,
) -> Response:
    principal, csrf = session
    _casework_only(request, principal, Action.READ_RISK)
    service = _service(request)
    language = _language(request)
    client = _client(request)
    try:
        risk = stored_risk(service, principal, child_id, as_of, language, None, client)  # type: ignore[arg-type]
    except ApiError as exc:
        raise PageError(exc.status, exc.error) from exc
    child = reach_child(service, principal, child_id, "read_history", client)
    with service.engine.begin() as connection:
        grouped = casework.history(connection, child_id)
        record(connection, principal, "read_history", "allowed", child_id, child.district, client)
        decisions = casework.decisions(connection, child_id=child_id)
        record(connection, principal, "read_decisions", "allowed", child_id, child.district, client)
    events = {event["event_id"]: event for rows in grouped.values() for event in rows}
    up = [f for f in risk.factors if f.log_odds > 0]
    down = [f for f in risk.factors if f.log_odds < 0]
    widest = max((abs(f.log_odds) for f in risk.factors), default=1.0) or 1.0
    return _render(
        request,
        "child.html",
        user=principal,
        csrf=csrf,
        risk=risk,
        up=up,
        down=down,
        widest=widest,
        events=events,
        history=grouped,
        decisions=decisions,
        actions=ACTIONS,
        reasons=OVERRIDE_REASONS,
        per_hundred=risk.probability * 100,
        event_label=_event_labeller(language),
        horizon=service.served().model.horizon_days,
    )


@router.post("/children/{child_id}/decisions")
def decide(
    request: Request,
    child_id: Annotated[str, path(IDENTIFIER)],
    session: SignedIn,
    csrf: Annotated[str, form(CODE)] = "",
    action: Annotated[str, form(CODE)] = "",
    agrees: Annotated[str, form(CODE)] = "",
    reason_code: Annotated[str, form(CODE)] = "",
    note: Annotated[str, form(NOTE)] = "",
) -> Response:
    principal, expected = session
    _check_csrf(request, principal, Action.RECORD_DECISION, expected, csrf)
    _casework_only(request, principal, Action.RECORD_DECISION)
    service = _service(request)
    client = _client(request)
    try:
        child = reach_child(service, principal, child_id, "record_decision", client)
    except ApiError as exc:
        raise PageError(exc.status, exc.error) from exc
    with service.engine.begin() as connection:
        try:
            casework.record_decision(
                connection,
                child,
                principal.name,
                principal.role,
                action,
                agrees == "yes",
                reason_code or None,
                note,
            )
        except CaseworkError as exc:
            raise PageError(422, str(exc).split(":", 1)[0]) from exc
        record(
            connection, principal, "record_decision", "allowed", child_id, child.district, client
        )
    return RedirectResponse(f"/children/{quote(child_id)}#decisions", status_code=303)


@router.get("/model", response_class=HTMLResponse)
def model_page(request: Request, session: SignedIn) -> Response:
    principal, csrf = session
    if principal.role not in MODEL_ROLES:
        raise _refuse(request, principal, Action.READ_MODEL, "role")
    service = _service(request)
    try:
        served = service.champion.current()
    except ModelUnavailableError as exc:
        raise PageError(503, "model") from exc
    evaluation = served.reports.get("evaluation.json", {})
    fairness = served.reports.get("fairness.json", {})
    by_score = evaluation.get("by_score", [])
    rates = [row["outcome_rate"] for row in by_score if row.get("outcome_rate") is not None]
    highest = max(rates, default=0.0) or 1.0
    groups = [
        row for row in fairness.get("rows", []) if row["attribute"] in ("area", "hukou", "sex")
    ]
    return _render(
        request,
        "model.html",
        user=principal,
        csrf=csrf,
        served=served,
        evaluation=evaluation,
        by_score=by_score,
        highest=highest,
        groups=groups,
        fairness=fairness,
        loaded=served.loaded_at,
    )
