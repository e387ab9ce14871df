"""`riskflag stats`: the division's statistics. ``publish`` counts the store's latest
export and keeps the suppressed report for the statistics page and ``GET
/v1/statistics``; ``export`` writes the files an analyst hands on (CSV, an Excel
workbook, PNG charts; Chinese and English) from the latest publication or, with
``--data``, from a data folder counted on the spot."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from features.console import fail
from features.deployment import load_deployment
from features.features_cli import histories_or_exit
from features.statistics.definitions import StatisticsConfigError, load_definitions
from serving.cli.common import Url, current_store, reported
from serving.errors import NotFoundError
from serving.store import DEFAULT_DATABASE_URL

app = typer.Typer(help="The division's statistics: publish, export.", no_args_is_help=True)
LANGUAGES: Final = ("en", "zh-CN")
Definitions = Annotated[
    Path | None, typer.Option(help="Statistics definitions TOML (default: the shipped ones).")
]
Deployment = Annotated[Path | None, typer.Option(help="Deployment TOML.")]


@app.command("publish")
def publish_command(
    definitions: Definitions = None,
    deployment: Deployment = None,
    url: Url = DEFAULT_DATABASE_URL,
    by: Annotated[str | None, typer.Option(help="Who publishes (default: the OS user).")] = None,
) -> None:
    """Count the store's latest export, suppress, and keep it for the page and the API."""
    from serving.statistics import publish_statistics

    with reported(StatisticsConfigError):
        places = load_deployment(deployment)
        report = publish_statistics(
            current_store(url), places, by or getpass.getuser(), definitions
        )
    typer.echo(_summary(report, f"statistics {report['id']} published"))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="Folder to write the files into.")],
    data: Annotated[
        Path | None, typer.Option(help="A data folder to count (default: the store's latest).")
    ] = None,
    lang: Annotated[list[str] | None, typer.Option(help="en or zh-CN (default: both).")] = None,
    definitions: Definitions = None,
    deployment: Deployment = None,
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Write the statistics as CSV, an Excel workbook and PNG charts, per language."""
    from features.statistics.report import statistics_report
    from serving.statistics_files import FILE_TYPES, file_bytes
    from serving.store.statistics import latest_statistics

    languages = tuple(lang or LANGUAGES)
    if unknown := [x for x in languages if x not in LANGUAGES]:
        raise fail(f"--lang {unknown[0]!r}: expected one of {', '.join(LANGUAGES)}")
    with reported(StatisticsConfigError):
        if data is not None:
            histories = histories_or_exit(data, load_deployment(deployment))
            report = statistics_report(histories, load_definitions(definitions))
        else:
            with current_store(url).connect() as connection:
                latest = latest_statistics(connection)
            if latest is None:
                raise NotFoundError("no statistics published yet: run `riskflag stats publish`")
            report = latest
    out.mkdir(parents=True, exist_ok=True)
    for language in languages:
        for name in FILE_TYPES:
            stem, suffix = name.rsplit(".", 1)
            (out / f"{stem}-{language}.{suffix}").write_bytes(file_bytes(report, name, language))
    typer.echo(_summary(report, f"wrote {len(FILE_TYPES) * len(languages)} files to {out}"))


def _summary(report: dict[str, Any], said: str) -> str:
    months = report["months"]
    shown = sum(not row["suppressed"] for row in report["populations"])
    return (
        f"{said}: export of {report['exported_at'][:10]}, months {months[0][:7]} to "
        f"{months[-1][:7]}; {shown:,} of {len(report['populations']):,} population counts "
        f"shown, the rest suppressed (under {report['suppress_below']} or revealing one)"
    )
