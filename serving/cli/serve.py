"""`riskflag serve`: the service (API and pages) under uvicorn, its settings from the
environment (serving.settings); the store is migrated at start-up.

With ``--workers`` above 1, uvicorn starts that many processes on one socket, each
building its own app from ``worker_app`` (an import string: uvicorn cannot hand a built
app to another process). This command checks the settings and builds the app once
first, so a wrong setting stops it with its message; migrates the store and opens the
registry once (the workers' own start-ups then find both ready); puts ``--host`` and
``--port`` in the environment the workers read; and listens on a socket of its own
making, whose connections get TCP_NODELAY (``run_workers``).
"""

from __future__ import annotations

import logging
import os
import socket
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from serving.cli.common import reported
from serving.settings import load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_APP: Final = "serving.cli.serve:worker_app"
LOG_FORMAT: Final = "%(asctime)s %(name)s %(message)s"
# uvicorn kills a worker that does not answer its health check within this time (default
# 5 s), and a new worker answers only once it has imported the riskflag command: seconds,
# more on a busy machine, where the default killed every worker before it had started.
HEALTHCHECK_SECONDS: Final = 30
WORKERS_HELP: Final = (
    "uvicorn worker processes. Each loads the champion and follows the registry itself, "
    "and has its own $RISKFLAG_MAX_EVENTS_IN_FLIGHT."
)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Default: $RISKFLAG_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: $RISKFLAG_PORT or 8000.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    workers: Annotated[int, typer.Option(min=1, help=WORKERS_HELP)] = 1,
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
        if workers > 1:
            _prepare_workers(app)
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "ssl_certfile": str(settings.ssl_certfile) if settings.ssl_certfile else None,
        "ssl_keyfile": str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        "access_log": False,  # uvicorn's access log prints paths, which hold child ids
        "log_level": log_level,
        "proxy_headers": settings.behind_tls_proxy,
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    run_workers(
        WORKER_APP,
        workers,
        factory=True,
        log_config=_log_config(log_level),
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
        **options,
    )


def worker_app() -> FastAPI:
    """The app of one worker of several (uvicorn calls it in each worker process): the
    settings from the environment, as `riskflag serve` checked and completed them."""
    from serving.app import create_app

    return create_app(load_settings())


def _prepare_workers(app: FastAPI) -> None:
    """Make what the workers would otherwise make at the same time, each at start-up: the
    store's schema, and MLflow's tables in a new tracking store (two workers creating
    either at once fail, and uvicorn then stops the service). Then give the workers the
    host and port this command listens on."""
    from mlflow.exceptions import MlflowException

    from models.registry import RegistryError, find_version, use_tracking
    from serving.store.db import upgrade

    service = app.state.service
    upgrade(service.engine)
    service.engine.dispose()
    use_tracking(service.champion.tracking_uri)
    with suppress(RegistryError, MlflowException, OSError):  # the workers report it
        find_version(service.champion.alias)
    os.environ["RISKFLAG_HOST"] = service.settings.host
    os.environ["RISKFLAG_PORT"] = str(service.settings.port)


def run_workers(app: str, workers: int, **options: Any) -> None:
    """``uvicorn.run(app, workers=workers, **options)``, on a listening socket whose
    connections get TCP_NODELAY. uvicorn's own (0.54) is made without IPPROTO_TCP, so
    asyncio leaves Nagle's algorithm on, and every keep-alive request after the first waits
    about 40 ms for the client's delayed ACK (uvicorn issue #3149; one worker is not
    affected: uvicorn lets asyncio make that socket). benchmarks/bench_serving.py serves
    its bare endpoint with it too."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(app, workers=workers, **options)
    bound = config.bind_socket()
    # the same socket, described as TCP: connections accepted on it inherit the protocol
    listening = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, bound.detach())
    with suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[listening]).run()


def _log_config(log_level: str) -> dict[str, Any]:
    """uvicorn's logging, plus what ``logging.basicConfig`` sets up for one process: the
    service's own loggers (riskflag.access, ...) on stderr. uvicorn applies it in every
    worker; a worker inherits nothing of this process's logging."""
    from uvicorn.config import LOGGING_CONFIG

    config = {**LOGGING_CONFIG}
    config["formatters"] = {**LOGGING_CONFIG["formatters"], "riskflag": {"format": LOG_FORMAT}}
    config["handlers"] = {
        **LOGGING_CONFIG["handlers"],
        "riskflag": {
            "formatter": "riskflag",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
    }
    config["root"] = {"handlers": ["riskflag"], "level": log_level.upper()}
    return config
