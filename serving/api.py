"""The HTTP API (FastAPI), versioned under /v1.

Access: a bearer token (serving.users) names a user and role. Deny by default: every
route lists the roles it admits; caseworkers and supervisors reach only children of
their districts, and a child outside them answers 404 exactly as a child that does not
exist; analysts read model metrics and de-identified aggregates, no child; admins manage
batches and the model and read the audit log, no child. Every read of a child's data and
every decision writes an audit record in the same transaction as the read or write.

Errors are JSON (``{"error", "message", "problems": [{"field", "rule", "message"}]}``),
4xx for anything the caller can fix, never a 500 for bad input. Logs carry the route
template, status and time: never a child id, a query string, a body or a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

import polars as pl
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features import schema as s
from features.contract import ContractError, check_tables
from features.deployment import Deployment, load_deployment
from models.flagging import TIERS, FlaggingPolicy, load_flagging_policy
from serving import casework, throttle, users
from serving.audit import ANONYMOUS, Action, record
from serving.budget import EventBudget, OverBudgetError
from serving.casework import CaseworkError, ChildRef
from serving.champion import Champion, ModelUnavailableError, Served
from serving.coalesce import Coalescer
from serving.explain import Language, NotScorableError, RiskView, factor_label
from serving.limits import CURSOR, IDENTIFIER, USER_NAME, InvalidValueError, path, query
from serving.schemas import (
    AuditOut,
    BatchOut,
    BatchRequest,
    DecisionIn,
    DecisionOut,
    ErrorOut,
    EventOut,
    FactorOut,
    FlagItem,
    FlagPage,
    HistoryOut,
    ModelRef,
    Problem,
    Reason,
    ReloadOut,
    RevokedOut,
    RiskOut,
    ScoreRequest,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from serving.settings import Settings
from serving.store.db import StoreError, make_engine, probe, upgrade
from serving.store.tables import AuditRecord
from serving.users import DISTRICT_ROLES, Principal, authenticate

log = logging.getLogger("riskflag.api")
access_log = logging.getLogger("riskflag.access")

CHILD_ID_PATH: Final = r"^[^\x00-\x1f\x7f]{1,64}$"


class ApiError(Exception):
    """An error answered as JSON with its status."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        problems: list[Problem] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.problems = problems or []
        self.retry_after = retry_after


NOT_FOUND_MESSAGE: Final = "no such child among your districts"


def _json_error(
    status: int,
    error: str,
    message: str,
    problems: list[Problem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorOut(error=error, message=message, problems=problems or [])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


# ---- body size, containment and access log: plain ASGI, before any parsing -----------


class BodyLimit:
    """Read a request's body whole before the app sees it, and refuse one over ``limit``
    bytes with 413, whether it declares its length or arrives in chunks."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = _json_error(413, "body_too_large", f"request body over {self.limit:,} bytes")
        if declared is not None:
            if not declared.isdigit():
                await _json_error(400, "bad_request", "Content-Length is not a number")(
                    scope, receive, send
                )
                return
            if int(declared) > self.limit:
                await too_big(scope, receive, send)
                return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await too_big(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Contain:
    """Whatever goes wrong inside answers a JSON error and logs the exception's type only:
    its message, its traceback's locals and a statement's text may quote a child's data,
    and an exception that left the app would be logged whole by the server. A store that
    cannot be reached answers 503, anything else 500; nothing was changed either way (a
    request's writes share its transaction)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            log.error("unhandled %s", type(exc).__name__)
            if started:  # too late for an error body: the connection is cut
                return
            if isinstance(exc, OperationalError | InterfaceError | StoreError):
                answer = _json_error(
                    503, "store_unavailable", "the store cannot be used now", headers=RETRY
                )
            else:
                answer = _json_error(500, "internal", "internal error; nothing was changed")
            await answer(scope, receive, send)


RETRY: Final = {"Retry-After": "5"}


class AccessLog:
    """One line per request: method, route template (never the path's ids), status, ms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "(no route)")
            access_log.info(
                "%s %s %d %.1fms",
                scope.get("method"),
                template,
                status,
                (time.perf_counter() - started) * 1000,
            )


# ---- the application -----------------------------------------------------------------


class Service:
    """What every route needs: the store, the model, the policies and the settings."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        champion: Champion,
        flagging: FlaggingPolicy,
        deployment: Deployment,
    ) -> None:
        self.settings, self.engine, self.champion = settings, engine, champion
        self.flagging, self.deployment = flagging, deployment
        self.coalescer = Coalescer(settings.scoring_batch_max)
        self.budget = EventBudget(settings.max_events_in_flight)

    def served(self) -> Served:
        try:
            return self.champion.current()
        except ModelUnavailableError as exc:
            raise ApiError(503, "model_unavailable", str(exc)) from exc


def create_app(settings: Settings, champion: Champion | None = None) -> FastAPI:
    """The API for ``settings``; ``champion`` is loaded at start-up unless given loaded."""
    flagging = load_flagging_policy(settings.flagging_policy)
    deployment = load_deployment(settings.deployment)
    engine = make_engine(settings.database_url)
    holder = champion or Champion(settings.tracking_uri, settings.model_alias)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, engine)
        service.coalescer.start()
        if not holder.ready:
            await asyncio.to_thread(holder.refresh)
        poller = None
        if settings.model_poll_seconds > 0:
            poller = asyncio.create_task(_poll(holder, settings.model_poll_seconds))
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
                with suppress(asyncio.CancelledError):
                    await poller
            engine.dispose()
            service.coalescer.close()

    app = FastAPI(
        title="riskflag",
        version="1",
        summary="Explainable risk flags for child welfare case histories",
        description=(
            "Scores are calibrated rates of a recorded outcome (an urgent intervention "
            "recorded within the horizon) among past children whose records looked alike, "
            "never a probability of harm; every score comes with its factors and the "
            "records behind each factor."
        ),
        lifespan=lifespan,
        responses={
            400: {"model": ErrorOut, "description": "unreadable body or Content-Length"},
            401: {"model": ErrorOut, "description": "no valid bearer token"},
            403: {"model": ErrorOut, "description": "role not admitted"},
            413: {"model": ErrorOut, "description": "body too large"},
            422: {"model": ErrorOut, "description": "invalid request: field and rule named"},
            429: {"model": ErrorOut, "description": "too many failed tokens from this client"},
            503: {
                "model": ErrorOut,
                "description": "no verified model is loaded, the store cannot be used, or "
                "too many events are being scored (Retry-After)",
            },
        },
    )
    service = Service(settings, engine, holder, flagging, deployment)
    app.state.service = service
    _errors(app)
    _routes(app)
    from serving import pages  # noqa: PLC0415 - pages build on this module's routes

    pages.install(app)
    app.add_middleware(Contain)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    return app


async def _poll(holder: Champion, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(holder.refresh)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def invalid_request(exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and rule (never the value given: it may be a child's data)."""
    problems = [
        Problem(
            field=_field(error.get("loc", ())),
            rule=str(error.get("type", "invalid")),
            message=str(error.get("msg", "invalid")),
        )
        for error in exc.errors()
    ]
    first = problems[0] if problems else None
    message = f"{first.field}: {first.message}" if first else "invalid request"
    return _json_error(422, "invalid_request", message, problems)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return _json_error(exc.status, exc.error, exc.message, exc.problems, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        return _json_error(exc.status_code, names.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(InvalidValueError)
    async def invalid_value(_: Request, exc: InvalidValueError) -> JSONResponse:
        problem = Problem(field=exc.field, rule=exc.rule, message=str(exc))
        return _json_error(422, "invalid_request", str(exc), [problem])


# ---- access ---------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False, description="a token from `riskflag users token NAME`")


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller a valid token names. Anything else is refused with 401 and audited; a
    client past the failure limit gets 429 and Retry-After instead (valid tokens are never
    throttled: a 256-bit secret cannot be guessed, and a lockout would only lock out)."""
    service = _service(request)
    given = credentials is not None and credentials.scheme.lower() == "bearer"
    token = credentials.credentials if credentials is not None and given else None
    principal = authenticate(service.engine, token) if token else None
    if principal is not None:
        return principal
    client, limits, now = _client(request), service.settings.failure_limits, users.utc_now()
    with service.engine.begin() as connection:
        wait = throttle.retry_after(connection, TOKENS, client, None, limits, now)
        outcome = "throttled" if wait is not None else "denied"
        if wait is None:
            throttle.count_failure(connection, TOKENS, client, None, limits, now)
        record(connection, ANONYMOUS, Action.AUTHENTICATE, outcome, client=client)
    if wait is not None:
        raise ApiError(
            429, "too_many_failures", "too many failed tokens from here", retry_after=wait
        )
    if token is None:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    raise ApiError(401, "unauthorized", "the token is not valid (unknown, revoked or expired)")


TOKENS: Final = "token"  # the throttle's kind for failed tokens


def allow(action: Action, *roles: str) -> Any:
    """The caller, if their role is one of ``roles``; otherwise 403, the refusal audited
    as a denied ``action``."""

    def check(request: Request, principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in roles:
            with _service(request).engine.begin() as connection:
                record(connection, principal, action, "denied", client=_client(request))
            raise ApiError(
                403, "forbidden", f"the {principal.role} role may not do this ({', '.join(roles)})"
            )
        return principal

    return Depends(check)


Anyone = Annotated[Principal, Depends(_principal)]
Svc = Annotated[Service, Depends(_service)]
Lang = Annotated[Literal["en", "zh-CN"] | None, Query(description="en or zh-CN")]
ChildPath = Annotated[str, path(IDENTIFIER, "a child's id (the data contract's child_id)")]
NamePath = Annotated[str, path(USER_NAME, "a user name")]
DistrictQuery = Annotated[str | None, query(IDENTIFIER, "one of your districts")]
CursorQuery = Annotated[str | None, query(CURSOR, "next_cursor from the previous page")]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _language(request: Request, asked: str | None) -> Language:
    if asked in ("en", "zh-CN"):
        return asked  # type: ignore[return-value]
    accepted = request.headers.get("accept-language", "").lower()
    return "zh-CN" if accepted.startswith("zh") else "en"


def reach_child(
    service: Service, principal: Principal, child_id: str, action: str, client: str | None
) -> ChildRef:
    """The child if it is in one of the caller's districts; otherwise 404 (a child that
    exists elsewhere and one that does not exist look the same), the refusal audited in a
    transaction of its own so that answering 404 does not roll it back."""
    with service.engine.begin() as connection:
        child = casework.find_child(connection, child_id)
        if child is not None and child.district in principal.districts:
            return child
        outcome = "not_found" if child is None else "denied"
        record(connection, principal, action, outcome, child_id, None, client)
    raise ApiError(404, "not_found", NOT_FOUND_MESSAGE)


def _audited_denial(
    service: Service, principal: Principal, action: str, client: str | None, **where: Any
) -> None:
    with service.engine.begin() as connection:
        record(connection, principal, action, "denied", client=client, **where)


RATE_WORDS: Final = {
    "en": (
        "Of past children with records like these, about {n} in 100 had an urgent "
        "intervention recorded within {days} days."
    ),
    "zh-CN": "在记录与此相似的以往儿童中，约每100人中有{n}人在{days}天内被记录了紧急干预。",
}


def audited_queue(
    connection: Connection,
    principal: Principal,
    batch: casework.BatchSummary,
    districts: list[str],
    tier: str | None,
    undecided: bool,
    flagged: bool,
    limit: int,
    cursor: str | None,
    client: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the queue (serving.casework.queue), each child listed audited as read: for
    the API and the pages alike. A cursor this service did not issue raises CaseworkError."""
    rows, following = casework.queue(
        connection, batch, districts, tier, undecided, flagged, limit, cursor
    )
    for row in rows:
        record(
            connection, principal, "read_queue", "allowed", row["child_id"], row["district"], client
        )
    return rows, following


def risk_out(view: RiskView, served: Served, flagged: bool, basis: str, lang: Language) -> RiskOut:
    per_hundred = view.probability * 100
    n = f"{per_hundred:.0f}" if per_hundred >= 1 else f"{per_hundred:.1f}"
    return RiskOut(
        child_id=view.child_id,
        district=view.district,
        as_of=view.as_of,
        probability=view.probability,
        score_1_20=view.score_1_20,
        tier=view.tier,  # type: ignore[arg-type]
        flagged=flagged,
        flag_basis=basis,
        rate_statement=RATE_WORDS[lang].format(n=n, days=served.model.horizon_days),
        base_log_odds=view.base_log_odds,
        base_points=view.base_points,
        factors=[
            FactorOut(
                factor=f.factor,
                features=list(f.features),
                label=f.label,
                value=f.value,
                log_odds=f.log_odds,
                points=f.points,
                direction=f.direction,
                event_ids=list(f.event_ids),
            )
            for f in view.factors
        ],
        factors_total=view.factors_total,
        model=ModelRef(version=served.version, family=served.model.family),
        language=lang,
    )


def flag_of(
    connection: Connection, service: Service, served: Served, view: RiskView, stored: bool
) -> tuple[bool, str]:
    """Whether this score is flagged. Flags are rationed per batch (the policy's capacity),
    so one score is judged against the latest batch of the same model and date. A stored
    child (``stored``) keeps the flag its batch gave it; a posted case history is judged
    only against its district's capacity, never by a stored record of the same id (which
    may be another district's child, and is not what was scored)."""
    policy = service.flagging
    if TIERS.index(view.tier) < TIERS.index(policy.flag_from):
        return False, f"tier {view.tier} is below the flagging tier ({policy.flag_from})"
    batch = casework.latest_batch(connection)
    if batch is None or batch.model_version != served.version or batch.as_of != view.as_of:
        return True, (
            f"tier {view.tier} reaches the flagging tier; no batch of this model on this date "
            "to apply the capacity to"
        )
    kept = casework.batch_score(connection, batch.id, view.child_id) if stored else None
    if kept is not None:
        return bool(kept["flagged"]), f"as flagged in batch {batch.id}"
    left, lowest = casework.capacity_left(connection, batch.id, view.district, policy)
    group = view.district if policy.capacity == "per_district" else "the batch"
    if left > 0 or lowest is None:
        return True, f"{group} has flags to spare in batch {batch.id}"
    within = view.probability >= lowest
    return within, f"{'within' if within else 'beyond'} {group}'s capacity in batch {batch.id}"


def stored_risk(
    service: Service,
    principal: Principal,
    child_id: str,
    as_of: date | None,
    language: Language,
    top: int | None,
    client: str | None,
) -> RiskOut:
    """A stored child's score with its explanation, for the API and the pages alike:
    reached (404 outside the caller's districts), scored, flagged and audited."""
    child = reach_child(service, principal, child_id, "read_risk", client)
    with service.engine.connect() as connection:
        until = casework.exported_at(connection)
        batch = casework.latest_batch(connection)
    if until is None:
        raise ApiError(409, "no_data", "the store holds no loaded export")
    day = as_of or (batch.as_of if batch else until.date())
    if day > until.date():
        raise ApiError(
            422,
            "invalid_request",
            f"query.as_of: {day} is after the latest export ({until.date()})",
            [Problem(field="query.as_of", rule="within_export", message="after the export")],
        )
    served = service.served()
    histories = casework.household_histories(service.engine, child, service.deployment, until)
    try:
        view = service.coalescer.explain(
            served.model, histories, child.child_id, day, service.flagging, language, top
        )
    except NotScorableError as exc:
        with service.engine.begin() as connection:
            record(connection, principal, "read_risk", "allowed", child_id, child.district, client)
        raise ApiError(422, "not_scorable", str(exc)) from exc
    with service.engine.begin() as connection:
        flagged, basis = flag_of(connection, service, served, view, stored=True)
        record(connection, principal, "read_risk", "allowed", child_id, child.district, client)
    return risk_out(view, served, flagged, basis, language)


def _child_in_body(body: ScoreRequest) -> tuple[pl.DataFrame, pl.DataFrame]:
    child = {name: getattr(body.child, name) for name in s.CHILDREN_COLUMNS}
    children = pl.DataFrame([child], schema=dict.fromkeys(s.CHILDREN_COLUMNS, pl.String))
    rows = [
        {
            name: (None if (value := getattr(event, name)) is None else str(value))
            for name in s.EVENTS_COLUMNS
        }
        for event in body.events
    ]
    events = pl.DataFrame(rows, schema=dict.fromkeys(s.EVENTS_COLUMNS, pl.String))
    return children, events


def _contract_problems(exc: ContractError) -> list[Problem]:
    report = exc.report
    problems = [Problem(field=None, rule="unreadable", message=line) for line in report.problems]
    for result in report.violations:
        rows: list[int | None] = [sample.row for sample in result.samples] or [None]
        for row in rows:
            where = f"body.{'child' if result.file == s.CHILDREN else result.file}"
            if row is not None and result.file != s.CHILDREN:
                where += f"[{row - 1}]"
            problems.append(
                Problem(
                    field=f"{where}.{result.column}",
                    rule=result.rule,
                    message=result.description,
                    count=result.count,
                )
            )
    return problems


def _stored_as(service: Service, child_id: str, district: str) -> str | None:
    """The id an audit record of a posted history names: the stored child's only when the
    store holds that id in the posted district (the same child, as far as anyone can tell);
    otherwise none, so that a posted id is never audited against another district's child."""
    with service.engine.connect() as connection:
        stored = casework.find_child(connection, child_id)
    return child_id if stored is not None and stored.district == district else None


def _score_posted(service: Service, body: ScoreRequest, language: Language, top: int) -> RiskView:
    """A posted case history checked by the data contract, scored and explained."""
    children, events = _child_in_body(body)
    try:
        histories = check_tables(children, events, service.deployment, source="request")
    except ContractError as exc:
        problems = _contract_problems(exc)
        raise ApiError(
            422,
            "contract_violation",
            "the case history breaks the data contract: "
            + "; ".join(f"{p.field or ''} {p.rule}".strip() for p in problems[:5]),
            problems,
        ) from exc
    served = service.served()
    try:
        return service.coalescer.explain(
            served.model,
            histories,
            body.child.child_id,
            body.as_of,
            service.flagging,
            language,
            top,
        )
    except NotScorableError as exc:
        raise ApiError(422, "not_scorable", str(exc)) from exc


def _routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        responses={503: {"description": "the database or the model is not ready"}},
    )
    def readyz(service: Svc) -> JSONResponse:
        """The store opens on a new connection and reads as a request does, at the latest
        schema, and a verified model is loaded."""
        checks: dict[str, str] = {}
        try:
            probe(service.engine)
            checks["database"] = "ok"
        except StoreError as exc:
            checks["database"] = f"unavailable ({exc})"
        try:
            checks["model"] = f"version {service.champion.current().version}"
        except ModelUnavailableError as exc:
            checks["model"] = f"unavailable ({exc})"
        ready = checks["database"] == "ok" and not checks["model"].startswith("unavailable")
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.post("/v1/score", tags=["scores"], response_model=RiskOut)
    def score(
        body: ScoreRequest,
        request: Request,
        principal: Annotated[Principal, allow(Action.SCORE_REQUEST, *DISTRICT_ROLES)],
        service: Svc,
        lang: Lang = None,
        top: Annotated[int, Query(ge=0, le=500, description="factors returned")] = 10,
    ) -> RiskOut:
        """Score a case history sent in the body (a child and its events, in the data
        contract's shapes) on an as-of date, with every factor and the records behind it.
        Nothing is stored but the audit record."""
        client = _client(request)
        language = _language(request, lang)
        posted = body.child
        if posted.district not in principal.districts:
            _audited_denial(
                service,
                principal,
                Action.SCORE_REQUEST,
                client,
                child_id=_stored_as(service, posted.child_id, posted.district),
                district=posted.district,
            )
            raise ApiError(
                403, "forbidden", f"child.district {posted.district!r} is not among yours"
            )
        if len(body.events) > service.settings.max_events_per_request:
            raise ApiError(
                422,
                "invalid_request",
                f"body.events: at most {service.settings.max_events_per_request:,} events",
                [Problem(field="body.events", rule="max_items", message="too many events")],
            )
        today = datetime.now(service.deployment.zone).date()
        if body.as_of > today:
            raise ApiError(
                422,
                "invalid_request",
                f"body.as_of: {body.as_of} is in the future",
                [Problem(field="body.as_of", rule="not_future", message="after today")],
            )
        try:
            with service.budget.take(len(body.events)):
                view = _score_posted(service, body, language, top)
        except OverBudgetError as exc:
            raise ApiError(503, "busy", str(exc), retry_after=2) from exc
        served = service.served()
        with service.engine.begin() as connection:
            flagged, basis = flag_of(connection, service, served, view, stored=False)
            record(
                connection,
                principal,
                Action.SCORE_REQUEST,
                "allowed",
                _stored_as(service, view.child_id, view.district),
                view.district,
                client,
            )
        return risk_out(view, served, flagged, basis, language)

    @app.get(
        "/v1/children/{child_id}/risk",
        tags=["children"],
        response_model=RiskOut,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    )
    def risk(
        child_id: ChildPath,
        request: Request,
        principal: Annotated[Principal, allow(Action.READ_RISK, *DISTRICT_ROLES)],
        service: Svc,
        as_of: Annotated[date | None, Query(description="default: the latest batch's date")] = None,
        lang: Lang = None,
        top: Annotated[int, Query(ge=0, le=500)] = 10,
    ) -> RiskOut:
        """A stored child's score, factors and evidence on an as-of date."""
        return stored_risk(
            service, principal, child_id, as_of, _language(request, lang), top, _client(request)
        )

    @app.get(
        "/v1/children/{child_id}/history",
        tags=["children"],
        response_model=HistoryOut,
        responses={404: {"model": ErrorOut}},
    )
    def child_history(
        child_id: ChildPath,
        request: Request,
        principal: Annotated[Principal, allow(Action.READ_HISTORY, *DISTRICT_ROLES)],
        service: Svc,
    ) -> HistoryOut:
        """A stored child's events, grouped by source, oldest first."""
        child = reach_child(service, principal, child_id, "read_history", _client(request))
        with service.engine.begin() as connection:
            grouped = casework.history(connection, child_id)
            record(
                connection,
                principal,
                "read_history",
                "allowed",
                child_id,
                child.district,
                _client(request),
            )
        return HistoryOut(
            child_id=child_id,
            district=child.district,
            sources={source: [EventOut(**row) for row in rows] for source, rows in grouped.items()},
        )

    @app.get("/v1/flags", tags=["queue"], response_model=FlagPage)
    def flags(
        request: Request,
        principal: Annotated[Principal, allow(Action.READ_QUEUE, *DISTRICT_ROLES)],
        service: Svc,
        district: DistrictQuery = None,
        tier: Annotated[Literal["low", "moderate", "high", "urgent"] | None, Query()] = None,
        undecided: bool = False,
        flagged: Annotated[bool, Query(description="only flagged children")] = True,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: CursorQuery = None,
        lang: Lang = None,
    ) -> FlagPage:
        """The queue: the latest batch's children of the caller's districts, highest score
        first, with the top three reasons and whether a decision was recorded since."""
        client = _client(request)
        language = _language(request, lang)
        if district is not None and district not in principal.districts:
            _audited_denial(service, principal, "read_queue", client, district=district)
            raise ApiError(403, "forbidden", f"district {district!r} is not among yours")
        districts = [district] if district else sorted(principal.districts)
        limit = min(limit, service.settings.page_size_max)
        with service.engine.begin() as connection:
            batch = casework.latest_batch(connection)
            if batch is None:
                return FlagPage(batch=None, items=[], next_cursor=None)
            try:
                rows, following = audited_queue(
                    connection,
                    principal,
                    batch,
                    districts,
                    tier,
                    undecided,
                    flagged,
                    limit,
                    cursor,
                    client,
                )
            except CaseworkError as exc:
                raise ApiError(
                    422,
                    "invalid_request",
                    str(exc),
                    [Problem(field="query.cursor", rule="cursor", message=str(exc))],
                ) from exc
        labels = reason_labeller(service, language)
        return FlagPage(
            batch=BatchOut(**batch.__dict__),
            items=[
                FlagItem(
                    child_id=row["child_id"],
                    district=row["district"],
                    score_1_20=row["score_1_20"],
                    tier=row["tier"],
                    probability=row["probability"],
                    flagged=row["flagged"],
                    reasons=[
                        Reason(
                            factor=reason["factor"],
                            label=labels(reason["factor"], reason.get("value")),
                            value=reason.get("value"),
                            log_odds=reason["log_odds"],
                            points=reason["points"],
                        )
                        for reason in row["reasons"]
                    ],
                    decided_at=row["decided_at"],
                )
                for row in rows
            ],
            next_cursor=following,
        )

    @app.post(
        "/v1/children/{child_id}/decisions",
        tags=["decisions"],
        status_code=201,
        response_model=DecisionOut,
        responses={404: {"model": ErrorOut}},
    )
    def decide(
        child_id: ChildPath,
        body: DecisionIn,
        request: Request,
        principal: Annotated[Principal, allow(Action.RECORD_DECISION, *DISTRICT_ROLES)],
        service: Svc,
    ) -> DecisionOut:
        """Record what was decided about a child: an action, agreement with the flag or an
        override with its reason, and a note. Stored durably; never edited."""
        client = _client(request)
        child = reach_child(service, principal, child_id, "record_decision", client)
        with service.engine.begin() as connection:
            try:
                stored = casework.record_decision(
                    connection,
                    child,
                    principal.name,
                    principal.role,
                    body.action,
                    body.agrees,
                    body.reason_code,
                    body.note,
                )
            except CaseworkError as exc:
                field = str(exc).split(":", 1)[0]
                raise ApiError(
                    422,
                    "invalid_request",
                    str(exc),
                    [Problem(field=f"body.{field}", rule="decision", message=str(exc))],
                ) from exc
            record(
                connection,
                principal,
                "record_decision",
                "allowed",
                child_id,
                child.district,
                client,
            )
        return DecisionOut(**stored)

    @app.get(
        "/v1/children/{child_id}/decisions",
        tags=["decisions"],
        response_model=list[DecisionOut],
        responses={404: {"model": ErrorOut}},
    )
    def child_decisions(
        child_id: ChildPath,
        request: Request,
        principal: Annotated[Principal, allow(Action.READ_DECISIONS, *DISTRICT_ROLES)],
        service: Svc,
    ) -> list[DecisionOut]:
        """A child's decisions, newest first."""
        client = _client(request)
        child = reach_child(service, principal, child_id, "read_decisions", client)
        with service.engine.begin() as connection:
            rows = casework.decisions(connection, child_id=child_id)
            record(
                connection, principal, "read_decisions", "allowed", child_id, child.district, client
            )
        return [DecisionOut(**row) for row in rows]

    @app.get("/v1/decisions", tags=["decisions"], response_model=list[DecisionOut])
    def district_decisions(
        request: Request,
        principal: Annotated[Principal, allow(Action.READ_DECISIONS, "supervisor")],
        service: Svc,
        district: DistrictQuery = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DecisionOut]:
        """Supervisors: the decisions of their districts, newest first."""
        client = _client(request)
        if district is not None and district not in principal.districts:
            _audited_denial(service, principal, "read_decisions", client, district=district)
            raise ApiError(403, "forbidden", f"district {district!r} is not among yours")
        districts = [district] if district else sorted(principal.districts)
        with service.engine.begin() as connection:
            rows = casework.decisions(connection, districts=districts, limit=limit)
            for row in rows:
                record(
                    connection,
                    principal,
                    "read_decisions",
                    "allowed",
                    row["child_id"],
                    row["district"],
                    client,
                )
        return [DecisionOut(**row) for row in rows]

    @app.get("/v1/model", tags=["model"])
    def model_info(principal: Anyone, service: Svc) -> dict[str, Any]:
        """The serving model: version, family, hash, promotion record, model card,
        evaluation metrics and fairness summary (no child-level data)."""
        served = service.served()
        tags = served.tags
        evaluation = served.reports.get("evaluation.json", {})
        fairness = served.reports.get("fairness.json", {})
        return {
            "name": "riskflag-urgent",
            "version": served.version,
            "family": served.model.family,
            "sha256": served.sha256,
            "loaded_at": served.loaded_at.isoformat(timespec="seconds"),
            "label": served.model.label,
            "horizon_days": served.model.horizon_days,
            "test_window": tags.get("riskflag.test_window"),
            "promotion": served.promotion,
            "metrics": {
                key: evaluation.get(key)
                for key in (
                    "n",
                    "positives",
                    "base_rate",
                    "roc_auc",
                    "average_precision",
                    "brier",
                    "ece",
                    "at_k",
                    "by_score",
                )
                if key in evaluation
            },
            "fairness": {
                "tolerance": fairness.get("tolerance"),
                "min_count": fairness.get("min_count"),
                "references": fairness.get("references"),
                "violations": fairness.get("violations", []),
                "groups": fairness.get("rows", []),
            },
            "model_card": served.reports.get("model_card.md"),
            "flagging_policy": service.flagging.__dict__,
        }

    @app.get("/v1/aggregates", tags=["model"])
    def aggregates(
        principal: Annotated[
            Principal, allow(Action.READ_AGGREGATES, "analyst", "supervisor", "admin")
        ],
        service: Svc,
    ) -> dict[str, Any]:
        """De-identified counts from the latest batch: children and flags per district and
        tier, decisions per action; counts under 10 are suppressed (null)."""
        with service.engine.connect() as connection:
            return casework.aggregates(connection, service.flagging)

    @app.get("/v1/audit", tags=["admin"], response_model=list[AuditOut])
    def audit_log(
        principal: Annotated[Principal, allow(Action.READ_AUDIT, "admin")],
        service: Svc,
        request: Request,
        child_id: Annotated[str | None, query(IDENTIFIER, "a child's id")] = None,
        user: Annotated[str | None, query(IDENTIFIER, "a user name")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[AuditOut]:
        """Admins: the audit log, newest first, for a child or a user."""
        query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
        if child_id is not None:
            query = query.where(AuditRecord.child_id == child_id)
        if user is not None:
            query = query.where(AuditRecord.user_name == user)
        with service.engine.begin() as connection:
            found = [dict(row) for row in connection.execute(query).mappings()]
            record(connection, principal, "read_audit", "allowed", client=_client(request))
        return [AuditOut(**row) for row in found]

    @app.post(
        "/v1/admin/batches",
        tags=["admin"],
        status_code=201,
        response_model=BatchOut,
        responses={409: {"model": ErrorOut}},
    )
    def batch(
        principal: Annotated[Principal, allow(Action.BATCH_SCORE, "admin")],
        service: Svc,
        request: Request,
        body: BatchRequest | None = None,
    ) -> BatchOut:
        """Admins: score every child in the store into a new batch (the queue)."""
        served = service.served()
        with service.engine.connect() as connection:
            until = casework.exported_at(connection)
        day = (body.as_of if body else None) or (until.date() if until else None)
        if day is None:
            raise ApiError(409, "no_data", "the store holds no loaded export")
        try:
            summary = casework.score_store(
                service.engine, served, service.flagging, service.deployment, day, principal.name
            )
        except CaseworkError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
        with service.engine.begin() as connection:
            record(connection, principal, "batch_score", "allowed", client=_client(request))
        return BatchOut(**summary.__dict__)

    @app.post("/v1/admin/model/reload", tags=["admin"], response_model=ReloadOut)
    def reload_model(
        principal: Annotated[Principal, allow(Action.MODEL_RELOAD, "admin")],
        service: Svc,
        request: Request,
    ) -> ReloadOut:
        """Admins: load the registry's current champion now if it changed (verified)."""
        changed = service.champion.refresh()
        with service.engine.begin() as connection:
            record(connection, principal, "model_reload", "allowed", client=_client(request))
        version = service.champion.current().version if service.champion.ready else None
        return ReloadOut(version=version, changed=changed, error=service.champion.last_error)

    @app.get("/v1/admin/users", tags=["admin"], response_model=list[UserOut])
    def users_list(
        principal: Annotated[Principal, allow(Action.READ_USERS, "admin")],
        service: Svc,
        request: Request,
    ) -> list[UserOut]:
        """Admins: every user with role, districts, state and live tokens (no secret)."""
        found = users.list_users(service.engine)
        with service.engine.begin() as connection:
            record(connection, principal, "read_users", "allowed", client=_client(request))
        return [UserOut.model_validate(user) for user in found]

    @app.post(
        "/v1/admin/users",
        tags=["admin"],
        status_code=201,
        response_model=TokenOut,
        responses={409: {"model": ErrorOut}},
    )
    def users_add(
        principal: Annotated[Principal, allow(Action.USER_ADD, "admin")],
        service: Svc,
        request: Request,
        body: UserIn,
    ) -> TokenOut:
        """Admins: create a user and their first token (shown once)."""
        try:
            users.add_user(service.engine, body.name, body.role, body.districts, service.deployment)
            token = users.issue_token(service.engine, body.name, body.expires_days)
        except users.UserError as exc:
            status = 409 if "exists already" in str(exc) else 422
            error = "invalid_request" if status == 422 else "conflict"
            raise ApiError(status, error, str(exc)) from exc
        with service.engine.begin() as connection:
            record(connection, principal, "user_add", "allowed", client=_client(request))
        return TokenOut(name=body.name, token=token)

    @app.post(
        "/v1/admin/users/{name}/tokens",
        tags=["admin"],
        status_code=201,
        response_model=TokenOut,
        responses={404: {"model": ErrorOut}},
    )
    def users_token(
        name: NamePath,
        principal: Annotated[Principal, allow(Action.TOKEN_ISSUE, "admin")],
        service: Svc,
        request: Request,
        body: TokenIn | None = None,
    ) -> TokenOut:
        """Admins: a new token for an active user (shown once)."""
        try:
            token = users.issue_token(service.engine, name, body.expires_days if body else 90)
        except users.UserError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        with service.engine.begin() as connection:
            record(connection, principal, "token_issue", "allowed", client=_client(request))
        return TokenOut(name=name, token=token)

    @app.post(
        "/v1/admin/users/{name}/revoke",
        tags=["admin"],
        response_model=RevokedOut,
        responses={404: {"model": ErrorOut}},
    )
    def users_revoke(
        name: NamePath,
        principal: Annotated[Principal, allow(Action.TOKEN_REVOKE, "admin")],
        service: Svc,
        request: Request,
    ) -> RevokedOut:
        """Admins: revoke every live token of a user."""
        try:
            revoked = users.revoke_tokens(service.engine, name)
        except users.UserError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        with service.engine.begin() as connection:
            record(connection, principal, "token_revoke", "allowed", client=_client(request))
        return RevokedOut(name=name, revoked=revoked)

    @app.post(
        "/v1/admin/users/{name}/disable",
        tags=["admin"],
        response_model=RevokedOut,
        responses={404: {"model": ErrorOut}},
    )
    def users_disable(
        name: NamePath,
        principal: Annotated[Principal, allow(Action.USER_DISABLE, "admin")],
        service: Svc,
        request: Request,
    ) -> RevokedOut:
        """Admins: disable a user (kept for the audit trail) and revoke their tokens."""
        if name == principal.name:
            raise ApiError(422, "invalid_request", "an admin cannot disable themselves")
        try:
            revoked = users.revoke_tokens(service.engine, name)
            users.disable_user(service.engine, name)
        except users.UserError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        with service.engine.begin() as connection:
            record(connection, principal, "user_disable", "allowed", client=_client(request))
        return RevokedOut(name=name, revoked=revoked)


def reason_labeller(service: Service, lang: Language) -> Callable[[str, Any], str]:
    """Plain words for a stored reason (factor name and value), for the API and pages."""
    try:
        model = service.champion.current().model
    except ModelUnavailableError:
        return lambda factor, _: factor
    return lambda factor, value: factor_label(model, tuple(factor.split(" & ")), lang, value)
