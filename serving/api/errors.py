"""How the API answers what went wrong: the status of serving.status, and JSON bodies
(``{"error", "message", "problems": [{"field", "rule", "message"}]}``).

4xx for anything the caller can fix, never a 500 for bad input; the status comes from
the error's class, never from its text. A value given is never repeated (it may be a
child's data): problems name the field and the rule."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.api.schemas import ErrorOut, Problem
from serving.errors import DomainError, NotReadyError
from serving.status import status_of

HTTP_NAMES: Final = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


class UnauthorizedError(Exception):
    """No valid credentials (401, with WWW-Authenticate), or too many failures from this
    client (429, with Retry-After): the API's own, before any caller is known."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


def json_error(
    status: int,
    error: str,
    message: str,
    problems: list[Problem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorOut(error=error, message=message, problems=problems or [])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


def domain_error(exc: DomainError) -> JSONResponse:
    """A domain error as the API answers it."""
    problems = [
        Problem(field=p.field, rule=p.rule, message=p.message, count=p.count)
        for p in getattr(exc, "problems", [])
    ]
    headers = {}
    if isinstance(exc, NotReadyError) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return json_error(status_of(exc), exc.code, exc.message, problems, headers)


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
    return json_error(422, "invalid_request", message, problems)


def install(app: FastAPI) -> None:
    """The API's answers for refused credentials and HTTP errors (routes that do not
    exist, methods not allowed). Domain errors and invalid requests are the app's to
    dispatch (serving.app): the API's paths answer with ``domain_error`` and
    ``invalid_request``, the pages' with a page."""

    @app.exception_handler(UnauthorizedError)
    async def unauthorized(_: Request, exc: UnauthorizedError) -> JSONResponse:
        if exc.retry_after is not None:
            headers = {"Retry-After": str(exc.retry_after)}
            return json_error(429, "too_many_failures", exc.message, headers=headers)
        return json_error(401, "unauthorized", exc.message, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = HTTP_NAMES.get(exc.status_code, "error")
        return json_error(exc.status_code, name, str(exc.detail))
