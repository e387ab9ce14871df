"""`riskflag queue build`: score every child in the store into a new batch, the
caseworkers' queue, with the champion (or a version named), through the one way to
score (models.batch, via serving.store.batch)."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from features.console import fail
from features.deployment import load_deployment
from models.cli import TRACKING_HELP
from models.flagging import load_flagging_policy
from models.monitoring import load_monitoring_policy
from serving.cli.common import Url, current_store, reported
from serving.errors import ConflictError
from serving.settings import DEFAULT_TRACKING_URI
from serving.store import DEFAULT_DATABASE_URL
from serving.store.children import exported_at

app = typer.Typer(help="The caseworkers' queue: batches of scores.", no_args_is_help=True)


@app.command("build")
def build_command(
    as_of: Annotated[
        str | None, typer.Option(help="As-of date, YYYY-MM-DD (default: the latest export's).")
    ] = None,
    model_uri: Annotated[
        str, typer.Option(help="models:/riskflag-urgent/<version or @alias>.")
    ] = "models:/riskflag-urgent/@champion",
    flagging: Annotated[Path | None, typer.Option(help="Flagging policy TOML.")] = None,
    monitoring: Annotated[
        Path | None, typer.Option(help="Monitoring policy TOML (what counts as a problem).")
    ] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    tracking_uri: Annotated[str, typer.Option(help=TRACKING_HELP)] = DEFAULT_TRACKING_URI,
    url: Url = DEFAULT_DATABASE_URL,
    by: Annotated[str | None, typer.Option(help="Who builds it (default: the OS user).")] = None,
) -> None:
    """Score every child in the store into a new batch: the caseworkers' queue."""
    from models.registry import MODEL_NAME, RegistryError, use_tracking
    from serving.champion import Champion
    from serving.monitoring import judge_matured
    from serving.store.batch import write_batch

    if not model_uri.startswith(f"models:/{MODEL_NAME}/"):
        raise fail(f"--model-uri: expected models:/{MODEL_NAME}/<version|@alias>")
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise fail(f"--as-of {as_of!r} is not a YYYY-MM-DD date") from exc
    with reported(RegistryError):
        policy, places = load_flagging_policy(flagging), load_deployment(deployment)
        judged = load_monitoring_policy(monitoring)
        engine = current_store(url)
        holder = Champion(use_tracking(tracking_uri), model_uri.rsplit("/", 1)[1].lstrip("@"))
        if not holder.refresh() and not holder.ready:
            raise fail(f"no model to score with: {holder.last_error}")
        with engine.connect() as connection:
            until = exported_at(connection)
        if day is None and until is None:
            raise ConflictError(
                "the store holds no loaded export: run `riskflag db load DIR` first"
            )
        day = day or until.date()  # type: ignore[union-attr]
        summary = write_batch(
            engine, holder.current(), policy, places, day, by or getpass.getuser(), judged
        )
        matured = judge_matured(engine, places, holder.model_of)
    typer.echo(
        f"batch {summary.id}: scored {summary.children:,} children on {summary.as_of} with "
        f"version {summary.model_version}: {summary.flagged:,} flagged"
    )
    if matured:
        said = ", ".join(str(batch) for batch in matured)
        typer.echo(f"outcomes judged and kept for the matured batches {said}")
