"""`riskflag serve`: the service (API and pages) under uvicorn, its settings from the
environment (serving.settings); the store is migrated at start-up."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from serving.cli.common import reported
from serving.settings import load_settings


def serve_command(
    host: Annotated[str | None, typer.Option(help="Default: $RISKFLAG_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: $RISKFLAG_PORT or 8000.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the API and the pages (settings from RISKFLAG_* variables; docs/serving.md)."""
    import uvicorn

    from serving.app import create_app

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    with reported():
        settings = load_settings(**overrides)
        app = create_app(settings)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        ssl_keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        access_log=False,  # uvicorn's access log prints paths, which hold child ids
        log_level=log_level,
        proxy_headers=settings.behind_tls_proxy,
    )
