"""`riskflag db ...`: migrate the store, load a contract folder into it, show its state,
grant the service's PostgreSQL role its rights, export the records officers' pair
decisions for the next `riskflag link --decisions` and the record corrections for the next
feature build or training (`--corrections`), and the household markings (`--separations`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

import features.separations as fs
from features.contract import ContractError
from features.corrections import digest
from features.deployment import load_deployment
from serving.cli.common import Url, current_store, reported
from serving.store import DEFAULT_DATABASE_URL, load_folder, make_engine, upgrade
from serving.store.corrections import frame as corrections_frame
from serving.store.review import EXPORT_COLUMNS, decisions_for_link
from serving.store.roles import grant_service_role
from serving.store.separations import frame as separations_frame
from serving.store.tables import Child, Event, Load

app = typer.Typer(help="The case-history store (SQLite or PostgreSQL).", no_args_is_help=True)


@app.command("migrate")
def migrate_command(url: Url = DEFAULT_DATABASE_URL) -> None:
    """Create or migrate the store's tables to the latest schema (the one command that
    migrates, besides the service's start-up)."""
    with reported():
        upgrade(make_engine(url))
    typer.echo("store is at the latest schema")


@app.command("grant")
def grant_command(
    role: Annotated[str, typer.Argument(help="The PostgreSQL role the service connects as.")],
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Give the service's role exactly what its requests need (run as the store's owner,
    after each migration): no UPDATE, DELETE or TRUNCATE on the append-only tables."""
    with reported():
        statements = grant_service_role(current_store(url), role)
    for statement in statements:
        typer.echo(statement)


@app.command("load")
def load_command(
    data: Annotated[Path, typer.Argument(help="Data folder (contract v1).")],
    url: Url = DEFAULT_DATABASE_URL,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
) -> None:
    """Validate a folder and load it in one transaction (all or nothing, idempotent)."""
    try:
        with reported():
            result = load_folder(make_engine(url), data, load_deployment(deployment))
    except ContractError as exc:
        typer.echo(exc.report.format_text(), err=True)
        typer.echo("nothing was loaded", err=True)
        raise typer.Exit(1) from exc
    if result.already_loaded:
        typer.echo(f"{data}: this export (sha256 {result.sha256[:12]}...) is already loaded")
        return
    typer.echo(
        f"loaded {data}: {result.children:,} children, {result.events:,} events; "
        f"{result.inserted:,} rows inserted, {result.updated:,} updated "
        f"(export of {result.exported_at:%Y-%m-%d %H:%M})"
    )


@app.command("status")
def status_command(url: Url = DEFAULT_DATABASE_URL) -> None:
    """How many children and events the store holds, and its loads."""
    with reported():
        engine = current_store(url)
        with engine.connect() as connection:
            children = connection.execute(select(func.count()).select_from(Child)).scalar_one()
            events = connection.execute(select(func.count()).select_from(Event)).scalar_one()
            loads = connection.execute(select(Load.__table__).order_by("id")).mappings().all()
    shown = engine.url.render_as_string(hide_password=True)
    typer.echo(f"{shown}: {children:,} children, {events:,} events, {len(loads)} load(s)")
    for item in loads:
        typer.echo(
            f"  {item['loaded_at']:%Y-%m-%d %H:%M} export {item['exported_at']:%Y-%m-%d} "
            f"sha256 {item['sha256'][:12]}: +{item['inserted']:,} rows, {item['updated']:,} updated"
        )


@app.command("pair-decisions")
def pair_decisions_command(
    out: Annotated[
        Path, typer.Option(help="The file to write: .csv, or .parquet (record ids as text).")
    ],
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Write the records officers' decisions (the latest on each pair of records) as the
    file `riskflag link --decisions` reads: record keys and decisions only, no note and
    no name. The weekly cycle: `riskflag db pair-decisions --out d.csv`, then `riskflag
    link SOURCES --previous LAST --decisions d.csv --out NEW`, then `riskflag db load NEW`."""
    with reported(OSError):
        engine = current_store(url)
        with engine.connect() as connection:
            rows = decisions_for_link(connection)
        _write_atomically(pl.DataFrame(rows, schema=dict.fromkeys(EXPORT_COLUMNS, pl.String)), out)
    typer.echo(f"wrote {len(rows):,} pair decision(s) to {out}")


@app.command("corrections")
def corrections_command(
    out: Annotated[Path, typer.Option(help="The CSV file to write.")],
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Write the record corrections as the file `riskflag features build` and `riskflag
    train` read (--corrections FILE): record ids, kinds and amended fields only, no
    reason, reference or name. A table or model built with it records its digest."""
    frame = _export_csv(url, out, corrections_frame)
    typer.echo(f"wrote {frame.height:,} correction(s) to {out} (sha256 {digest(frame)[:12]})")


@app.command("separations")
def separations_command(
    out: Annotated[Path, typer.Option(help="The CSV file to write.")],
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Write the household markings (a member marked apart from a child) as the file
    `riskflag features build` and `riskflag train` read (--separations FILE): ids, kinds
    and dates only, no reason or name. A table or model built with it records its digest."""
    frame = _export_csv(url, out, separations_frame)
    typer.echo(f"wrote {frame.height:,} marking(s) to {out} (sha256 {fs.digest(frame)[:12]})")


def _export_csv(url: str, out: Path, read: Callable[[Connection], pl.DataFrame]) -> pl.DataFrame:
    """What ``read`` reads of the store at ``url``, written to the CSV file ``out``."""
    if out.suffix == ".parquet":
        raise typer.BadParameter("a CSV file (.csv)", param_hint="--out")
    with reported(OSError):
        engine = current_store(url)
        with engine.connect() as connection:
            frame = read(connection)
        _write_atomically(frame, out)
    return frame


def _write_atomically(frame: pl.DataFrame, out: Path) -> None:
    """``frame`` to ``out`` (Parquet for a .parquet name, else CSV) through a temporary
    file in the same folder, renamed over ``out`` once complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        if out.suffix == ".parquet":
            frame.write_parquet(temporary)
        else:
            frame.write_csv(temporary)
        os.replace(temporary, out)
    finally:
        Path(temporary).unlink(missing_ok=True)
