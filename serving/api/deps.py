"""What API routes ask for: the service, the caller (a bearer token, its role admitted
and audited), the language, and the path and query parameters every route shares.

Access: a bearer token (serving.users) names a user and role. Deny by default: every
route lists the roles it admits (``allow``). A token that is missing or not valid is
refused with 401 and audited; a client past the failure limit gets 429 and Retry-After
instead (valid tokens are never throttled: a 256-bit secret cannot be guessed, and a
lockout would only lock out).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Final

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serving import i18n, throttle
from serving.access import Caller, Principal, admit
from serving.api.errors import UnauthorizedError
from serving.audit import ANONYMOUS, Action, Audit, record
from serving.clock import utc_now
from serving.errors import NotFoundError
from serving.hashing import digest
from serving.i18n import Language
from serving.limits import CURSOR, IDENTIFIER, USER_NAME, path, query
from serving.service import Service, client_of, service_of
from serving.users import authenticate

TOKENS: Final = "token"  # the throttle's kind for failed tokens

bearer = HTTPBearer(auto_error=False, description="a token from `riskflag users token NAME`")


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller a valid token names; anything else is refused, audited, throttled."""
    service = service_of(request)
    token = _token(credentials)
    principal = authenticate(service.engine, token) if token else None
    if principal is not None:
        return principal
    raise refused(request, token)


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    given = credentials is not None and credentials.scheme.lower() == "bearer"
    return credentials.credentials if credentials is not None and given else None


def scraper(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Prometheus, for ``GET /metrics``: a bearer token whose SHA-256 is the setting
    ``RISKFLAG_METRICS_TOKEN_SHA256``; no setting, no metrics (404); anything else is
    refused, audited and throttled as a bad token is."""
    expected = service_of(request).settings.metrics_token_sha256
    if expected is None:
        raise NotFoundError("metrics are off: set RISKFLAG_METRICS_TOKEN_SHA256")
    token = _token(credentials)
    if token is None or not hmac.compare_digest(digest(token), expected):
        raise refused(request, token)


def refused(request: Request, token: str | None) -> UnauthorizedError:
    """A token refused: audited as a denied (or throttled) ``authenticate``, counted
    against the client; the error to raise."""
    service = service_of(request)
    client, limits, now = client_of(request), service.settings.failure_limits, utc_now()
    with service.engine.begin() as connection:
        wait = throttle.retry_after(connection, TOKENS, client, None, limits, now)
        if wait is None:
            throttle.count_failure(connection, TOKENS, client, None, limits, now)
        outcome = "throttled" if wait is not None else "denied"
        record(connection, ANONYMOUS, Action.AUTHENTICATE, outcome, client=client)
    if wait is not None:
        return UnauthorizedError("too many failed tokens from here", retry_after=wait)
    if token is None:
        return UnauthorizedError("a bearer token is required")
    return UnauthorizedError("the token is not valid (unknown, revoked or expired)")


def allow(action: Action, *roles: str) -> Any:
    """The caller, if their role is one of ``roles``; otherwise 403, the refusal audited
    as a denied ``action``. The caller carries the audit trail every read is written to."""

    def caller(request: Request, principal: Annotated[Principal, Depends(_principal)]) -> Caller:
        audit = Audit(service_of(request).engine, principal, client_of(request))
        found = Caller(principal, audit)
        admit(found, action, roles)
        return found

    return Depends(caller)


def language(request: Request, lang: str | None) -> Language:
    """The language asked for (``lang``), else the best of Accept-Language."""
    return i18n.choose(lang, request.headers.get("accept-language"))


Anyone = Annotated[Principal, Depends(_principal)]
Svc = Annotated[Service, Depends(service_of)]
Lang = Annotated[Language | None, Query(description="en or zh-CN")]
ChildPath = Annotated[str, path(IDENTIFIER, "a child's id (the data contract's child_id)")]
NamePath = Annotated[str, path(USER_NAME, "a user name")]
DistrictQuery = Annotated[str | None, query(IDENTIFIER, "one of your districts")]
CursorQuery = Annotated[str | None, query(CURSOR, "next_cursor from the previous page")]
