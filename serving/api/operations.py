"""Operations: is the process up, and is it ready to serve (store and model)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serving.api.deps import Svc
from serving.champion import ModelUnavailableError
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
