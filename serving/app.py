"""The application: ``create_app`` puts together the API (serving.api), the pages
(serving.pages), their error handlers and the middleware, around one Service.

At start-up (the lifespan) the store is migrated to the latest schema and the champion
is loaded; a poller then follows the registry's alias. At shutdown the poller stops and
the engine is disposed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Final

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from features.deployment import load_deployment
from features.linkage.policy import load_linkage_policy
from models.flagging import load_flagging_policy
from models.monitoring import load_monitoring_policy
from serving import api, pages
from serving.api import docs
from serving.api import errors as api_errors
from serving.api.schemas import ErrorOut
from serving.champion import Champion
from serving.errors import DomainError
from serving.metrics import Metrics
from serving.middleware import AccessLog, BodyLimit, Contain
from serving.pages import errors as page_errors
from serving.service import Service
from serving.settings import Settings
from serving.store.db import make_engine, upgrade

API_PATHS: Final = ("/v1/", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")
DESCRIPTION = (
    "Scores are calibrated rates of a recorded outcome (an urgent intervention "
    "recorded within the horizon) among past children whose records looked alike, "
    "never a probability of harm; every score comes with its factors and the "
    "records behind each factor."
)
RESPONSES = {
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
}


def create_app(settings: Settings, champion: Champion | None = None) -> FastAPI:
    """The service for ``settings``; ``champion`` is loaded at start-up unless given loaded."""
    service = Service(
        settings,
        make_engine(settings.database_url),
        champion or Champion(settings.tracking_uri, settings.model_alias),
        load_flagging_policy(settings.flagging_policy),
        load_deployment(settings.deployment),
        load_linkage_policy(settings.linkage_policy),
        load_monitoring_policy(settings.monitoring_policy),
    )
    app = FastAPI(
        title="riskflag",
        version="1",
        summary="Explainable risk flags for child welfare case histories",
        description=DESCRIPTION,
        lifespan=_lifespan(service),
        responses=RESPONSES,  # type: ignore[arg-type]
        docs_url=None,  # served from this machine's files instead (serving.api.docs)
        redoc_url=None,
    )
    app.state.service = service
    app.state.metrics = Metrics(service)
    api_errors.install(app)
    pages.install(app)
    docs.install(app)
    _dispatch_errors(app)
    for router in api.ROUTERS:
        app.include_router(router)
    app.add_middleware(Contain)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AccessLog, observe=app.state.metrics.observe)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PATHS)


def _dispatch_errors(app: FastAPI) -> None:
    """A domain error or an invalid request answers as JSON on the API's paths and as a
    page in the reader's language on the pages'."""

    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> Response:
        if _is_api(request):
            return api_errors.domain_error(exc)
        return page_errors.domain_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return api_errors.invalid_request(exc)
        return page_errors.invalid_page(request)


def _lifespan(service: Service):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, service.engine)
        if not service.champion.ready:
            await asyncio.to_thread(service.champion.refresh)
        poller = None
        seconds = service.settings.model_poll_seconds
        if seconds > 0:
            poller = asyncio.create_task(_poll(service.champion, seconds))
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
                with suppress(asyncio.CancelledError):
                    await poller
            service.engine.dispose()

    return lifespan


async def _poll(holder: Champion, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(holder.refresh)
