"""The app's plain ASGI middleware, before any parsing: a body read whole and bounded,
whatever goes wrong contained, one access line per request. None of them ever writes a
child's id, a query string, a body or a token anywhere."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.api.errors import json_error as _json_error  # the API's error body
from serving.store.db import StoreError

log = logging.getLogger("riskflag.api")
access_log = logging.getLogger("riskflag.access")
RETRY: Final = {"Retry-After": "5"}


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


class Started:
    """Whether a response has started, and its status: what ``watching(send)`` saw."""

    def __init__(self) -> None:
        self.status: int | None = None

    def watching(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
            await send(message)

        return sending


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
        seen = Started()
        try:
            await self.app(scope, receive, seen.watching(send))
        except Exception as exc:
            log.error("unhandled %s", type(exc).__name__)
            if seen.status is not None:  # too late for an error body: the connection is cut
                return
            if isinstance(exc, OperationalError | InterfaceError | StoreError):
                answer = _json_error(
                    503, "store_unavailable", "the store cannot be used now", headers=RETRY
                )
            else:
                answer = _json_error(500, "internal", "internal error; nothing was changed")
            await answer(scope, receive, send)


class AccessLog:
    """One line per request: method, route template (never the path's ids), status, ms;
    and the same to ``observe`` (serving.metrics: Prometheus' request counts)."""

    def __init__(
        self, app: ASGIApp, observe: Callable[[str, str, int, float], None] | None = None
    ) -> None:
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, seen = time.perf_counter(), Started()
        try:
            await self.app(scope, receive, seen.watching(send))
        finally:
            status = seen.status if seen.status is not None else 500
            route = scope.get("route")
            template = getattr(route, "path", "(no route)")
            seconds, method = time.perf_counter() - started, str(scope.get("method"))
            access_log.info("%s %s %d %.1fms", method, template, status, seconds * 1000)
            if self.observe is not None:
                self.observe(method, template, status, seconds)
