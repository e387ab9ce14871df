"""The service's outward shape, pinned: the OpenAPI document and every route of the app
(API, pages, static files). A change to either is a change of behaviour, made on purpose:
regenerate with ``RISKFLAG_UPDATE_SNAPSHOTS=1 pytest tests/serving/test_snapshot.py``
and review the difference."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from serving.app import create_app
from serving.settings import Settings

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    where = tmp_path_factory.mktemp("snapshot")
    settings = Settings(
        database_url=f"sqlite:///{where / 'store.db'}",
        tracking_uri=f"sqlite:///{where / 'mlflow.db'}",
    )
    return create_app(settings)  # not started: the shape needs no store and no model


def _routes(routes: list[Any], prefix: str = "") -> list[str]:
    """Every route as ``METHOD /path`` (``MOUNT /path`` for a mount), routers included."""
    shown = []
    for route in routes:
        included = getattr(route, "original_router", None)  # a router the app includes
        if included is not None:
            shown += _routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            shown.append(f"MOUNT {prefix}{route.path}")
        else:
            shown += [f"{method} {prefix}{route.path}" for method in sorted(route.methods)]
    return sorted(shown)


def _same_as_snapshot(name: str, found: Any) -> None:
    path = SNAPSHOTS / name
    text = json.dumps(found, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("RISKFLAG_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"{name} changed; if on purpose, regenerate it (see this module's docstring)"
    )


def test_openapi_document_unchanged(app: FastAPI) -> None:
    _same_as_snapshot("openapi.json", app.openapi())


def test_routes_unchanged(app: FastAPI) -> None:
    _same_as_snapshot("routes.json", _routes(app.routes))
