"""`riskflag serve` (the API under uvicorn) and `riskflag score` (a data folder to a file,
or with --store the whole store into a new batch: the caseworkers' queue)."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from features import features_cli
from features.deployment import DeploymentError, load_deployment
from models import cli as models_cli
from models.flagging import FlaggingError, load_flagging_policy
from serving.settings import SettingsError, load_settings
from serving.store import StoreError, make_engine, upgrade


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Default: $RISKFLAG_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: $RISKFLAG_PORT or 8000.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the API (settings from RISKFLAG_* variables; see docs/serving.md)."""
    import uvicorn

    from serving.api import create_app

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    try:
        settings = load_settings(**overrides)
        app = create_app(settings)
    except (SettingsError, StoreError, DeploymentError, FlaggingError) as exc:
        raise _fail(str(exc)) from exc
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


def score_command(
    data: Annotated[
        str | None, typer.Option(help="Data folder (contract v1); a URI with Spark.")
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Score the whole store into a new batch (the queue).")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help="As-of date, YYYY-MM-DD (with --store: default the export).")
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="Output: .parquet or .csv file; with Spark, a new folder.")
    ] = None,
    model_uri: Annotated[
        str, typer.Option(help="models:/riskflag-urgent/<version or @alias>.")
    ] = "models:/riskflag-urgent/@champion",
    flagging: Annotated[Path | None, typer.Option(help="Flagging policy TOML.")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=models_cli.TRACKING_HELP)] = None,
    url: Annotated[str | None, typer.Option(help="Store URL (with --store).")] = None,
    by: Annotated[str | None, typer.Option(help="Who runs the batch (default: OS user).")] = None,
    engine: Annotated[
        features_cli.Engine, typer.Option(help=features_cli.ENGINE_HELP)
    ] = features_cli.Engine.polars,
    spark_master: Annotated[str | None, typer.Option(help=features_cli.MASTER_HELP)] = None,
    partitions: Annotated[
        int | None, typer.Option(min=1, help=features_cli.PARTITIONS_HELP)
    ] = None,
) -> None:
    """Score children with the champion: a data folder to a file (--data --as-of --out), or
    every child in the store into a new batch, the caseworkers' queue (--store)."""
    if not store:
        if data is None or out is None or as_of is None:
            raise _fail("give --data DIR --as-of DATE --out FILE, or --store")
        models_cli.score_command(
            data, as_of, out, model_uri, flagging, deployment, tracking_uri,
            engine, spark_master, partitions,
        )  # fmt: skip
        return
    if engine is not features_cli.Engine.polars:
        raise _fail("--store scores the store on this machine: --engine spark reads a folder")
    if data is not None or out is not None:
        raise _fail("--store scores the store: give no --data or --out")
    import getpass

    from models.registry import MODEL_NAME, RegistryError, use_tracking
    from serving.casework import CaseworkError, exported_at, score_store
    from serving.champion import Champion

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise _fail(f"--as-of {as_of!r} is not a YYYY-MM-DD date") from exc
    if not model_uri.startswith(f"models:/{MODEL_NAME}/"):
        raise _fail(f"--model-uri: expected models:/{MODEL_NAME}/<version|@alias>")
    try:
        policy = load_flagging_policy(flagging)
        places = load_deployment(deployment)
        store_engine = make_engine(url)
        upgrade(store_engine)
    except (FlaggingError, DeploymentError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    holder = Champion(use_tracking(tracking_uri), model_uri.rsplit("/", 1)[1].lstrip("@"))
    holder.refresh()
    if not holder.ready:
        raise _fail(f"no model to score with: {holder.last_error}")
    with store_engine.connect() as connection:
        until = exported_at(connection)
    if day is None and until is not None:
        day = until.date()
    if day is None:
        raise _fail("the store holds no loaded export: run `riskflag db load DIR` first")
    try:
        summary = score_store(
            store_engine, holder.current(), policy, places, day, by or getpass.getuser()
        )
    except (CaseworkError, RegistryError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        f"batch {summary.id}: scored {summary.children:,} children on {summary.as_of} with "
        f"version {summary.model_version}: {summary.flagged:,} flagged"
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("score")(score_command)
