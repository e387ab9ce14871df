"""The features package's commands for the `riskflag` CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol

import typer

from features.console import fail
from features.contract import validate_folder
from features.deployment import Deployment, DeploymentError, load_deployment
from features.features_cli import app as features_app
from features.linkage.cli import link
from features.synth.cli import synth
from features.synth.plant import Problem


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


DeploymentOption = Annotated[
    Path | None,
    typer.Option(help="Deployment TOML (time zone, districts); default: Beijing."),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Report as text or JSON.")]


def validate(
    folder: Annotated[Path, typer.Argument(help="Data folder: children and events, contract 1.1.")],
    deployment: DeploymentOption = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Check a data folder against every rule of the data contract.

    Exit 0 and a summary when valid; exit 1 and every violation (file, row, column,
    rule, value; at most 50 rows per rule, with totals) when not.
    """
    _report(validate_folder, folder, deployment, output)


def validate_sources(
    folder: Annotated[Path, typer.Argument(help="Sources folder: one subfolder per source.")],
    deployment: DeploymentOption = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Check the sources' exports (persons and events per source) against source-exports.md.

    Exit 0 and per-source counts (ID numbers missing, malformed or failing their check
    digit are counted, never refused); exit 1 and every violation when not valid.
    Identity values are never printed: only their shape.
    """
    from features.linkage.sources import validate_sources as check

    _report(check, folder, deployment, output)


class _Report(Protocol):
    @property
    def ok(self) -> bool: ...
    def format_text(self) -> str: ...
    def format_json(self) -> str: ...


def _report(
    check: Callable[[Path, Deployment], _Report],
    folder: Path,
    deployment: Path | None,
    output: OutputFormat,
) -> None:
    """Run a folder's check under the deployment; print its report; exit 0 valid, 1 not."""
    try:
        settings = load_deployment(deployment)
    except DeploymentError as exc:
        raise fail(str(exc)) from exc
    report = check(folder, settings)
    typer.echo(report.format_json() if output is OutputFormat.json else report.format_text())
    raise typer.Exit(0 if report.ok else 1)


def plant(
    folder: Annotated[Path, typer.Argument(help="Data folder (contract, Parquet).")],
    out: Annotated[Path, typer.Option(help="The copy with the problem (new or empty).")],
    problem: Annotated[Problem, typer.Option(help="What goes wrong.")],
    source: Annotated[str, typer.Option(help="Whose records: a source, e.g. health.")],
    as_of: Annotated[str, typer.Option(help="The batch's date: its week before goes wrong.")],
) -> None:
    """Copy a data folder with an input problem planted in one partner's records of the
    week before a date: a fire drill for monitoring (features.synth.plant)."""
    from features.contract.files import ReadError
    from features.synth.plant import plant_folder

    try:
        day = date.fromisoformat(as_of)
    except ValueError as exc:
        raise fail(f"--as-of {as_of!r} is not a YYYY-MM-DD date") from exc
    try:
        before, after = plant_folder(folder, out, problem, source, day)
    except ReadError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{out}: {problem} planted in {source}'s records of the week before {day} "
               f"({before:,} events before, {after:,} after)")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `riskflag` app."""
    app.command("validate")(validate)
    app.command("synth")(synth)
    app.command("validate-sources")(validate_sources)
    app.command("link")(link)
    app.command("plant")(plant)
    app.add_typer(features_app, name="features")
