"""Operations: is the process up, is it ready to serve (store and model), and its
metrics for Prometheus (serving.metrics)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from serving.api.deps import Svc, scraper
from serving.champion import ModelUnavailableError
from serving.metrics import CONTENT_TYPE, Metrics
from serving.store.db import StoreError, probe

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "the database or the model is not ready"}})
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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, _: Annotated[None, Depends(scraper)]) -> Response:
    """Prometheus' text format: requests by route template, the model, the latest batch
    and its checks (serving.metrics); no child's data. Prometheus' bearer token only."""
    found: Metrics = request.app.state.metrics
    return Response(await asyncio.to_thread(found.exposition), media_type=CONTENT_TYPE)
