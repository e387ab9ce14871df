"""`riskflag features ...`: build point-in-time feature tables, list the registry."""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

import features.separations as fs
from features.build import month_grid
from features.config import ConfigError, FeatureConfig, Policy, load_feature_config, load_policy
from features.console import fail
from features.contract import CaseHistories, ContractError, load_case_histories
from features.corrections import CorrectionError, corrected
from features.corrections import read_file as read_corrections
from features.deployment import Deployment, DeploymentError, load_deployment
from features.registry import build_registry
from features.table import write_features

app = typer.Typer(help="Point-in-time feature tables.", no_args_is_help=True)


class Backend(StrEnum):
    """Where the one feature pipeline runs (the ``--engine`` option): this machine
    (polars) or a Spark cluster. Not the feature engine (features.engine)."""

    polars = "polars"
    spark = "spark"


BACKEND_HELP = "polars: this machine; spark: partitions of households on a Spark cluster."
MASTER_HELP = "Spark master URL (--engine spark; default: the configured one, else local[*])."
PARTITIONS_HELP = "Spark partitions (--engine spark; default: one per 50,000 children)."


def histories_or_exit(
    data: Path,
    deployment: Deployment,
    corrections: Path | None = None,
    separations: Path | None = None,
) -> CaseHistories:
    """The checked case histories of a folder, with the record corrections of a
    corrections file applied (features.corrections) and the household markings of a
    markings file (features.separations), or every violation printed and exit 1: how
    every command that reads a data folder starts."""
    try:
        histories = load_case_histories(data, deployment)
        if corrections is not None:
            histories = corrected(histories, read_corrections(corrections))
        if separations is not None:
            histories = fs.separated(histories, fs.read_file(separations))
        return histories
    except ContractError as exc:
        typer.echo(exc.report.format_text(), err=True)
        raise typer.Exit(1) from exc
    except (CorrectionError, fs.SeparationError) as exc:
        raise fail(str(exc)) from exc


CORRECTIONS_HELP = "Record corrections to honour (`riskflag db corrections --out FILE`)."
SEPARATIONS_HELP = "Household members marked apart (`riskflag db separations --out FILE`)."


def _as_of_dates(
    as_of: list[str] | None, start: str | None, end: str | None, every: str
) -> list[date]:
    try:
        if as_of:
            if start or end:
                raise fail("give either --as-of dates or --from/--to, not both")
            return [date.fromisoformat(value) for value in as_of]
        if not (start and end):
            raise fail("give --as-of DATE (repeatable) or --from DATE --to DATE [--every 1mo]")
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise fail(f"as-of dates must be YYYY-MM-DD ({exc})") from exc
    if last < first:
        raise fail(f"--to {last} is before --from {first}")
    try:
        return month_grid(first, last, every)
    except Exception as exc:  # polars rejects a malformed interval
        raise fail(f"--every {every!r} is not an interval such as 1mo, 2w, 7d") from exc


@app.command("build")
def build(
    data: Annotated[str, typer.Option(help="Data folder (contract 1.1); a URI with Spark.")],
    out: Annotated[
        str, typer.Option(help="Table to write: a .parquet file; with Spark, a new folder.")
    ],
    as_of: Annotated[
        list[str] | None, typer.Option("--as-of", help="An as-of date; repeatable.")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First as-of date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last as-of date.")] = None,
    every: Annotated[str, typer.Option(help="Spacing of as-of dates: 1mo, 2w, 7d.")] = "1mo",
    config: Annotated[Path | None, typer.Option(help="Feature configuration TOML.")] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML (retention, exclusions).")
    ] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    corrections: Annotated[Path | None, typer.Option(help=CORRECTIONS_HELP)] = None,
    separations: Annotated[Path | None, typer.Option(help=SEPARATIONS_HELP)] = None,
    shards: Annotated[
        int,
        typer.Option(min=0, help="Build shard by shard (households kept together); 0: by size."),
    ] = 0,
    backend: Annotated[Backend, typer.Option("--engine", help=BACKEND_HELP)] = Backend.polars,
    spark_master: Annotated[str | None, typer.Option(help=MASTER_HELP)] = None,
    partitions: Annotated[int | None, typer.Option(min=1, help=PARTITIONS_HELP)] = None,
) -> None:
    """Build one row per (child, as-of date) for the eligible cohort, with the label."""
    dates = _as_of_dates(as_of, start, end, every)
    try:
        settings = load_deployment(deployment)
        feature_config, feature_policy = load_feature_config(config), load_policy(policy)
    except (ConfigError, DeploymentError) as exc:
        raise fail(str(exc)) from exc
    started = time.perf_counter()
    if backend is Backend.spark:
        if corrections is not None or separations is not None:
            raise fail("--corrections, --separations: not yet with --engine spark; use polars")
        _build_on_spark(data, out, feature_config, feature_policy, dates, settings,
                        spark_master, partitions, started)  # fmt: skip
        return
    histories = histories_or_exit(Path(data), settings, corrections, separations)
    try:
        written = write_features(
            histories, feature_config, feature_policy, dates, Path(out), shards=shards or None
        )
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    seconds = time.perf_counter() - started
    typer.echo(
        f"wrote {written.path}: {written.rows:,} rows ({written.children:,} children x "
        f"{len(dates)} as-of dates, eligible cohort), {written.columns} columns; "
        f"labels known for {written.labelled:,} rows, {written.positives:,} positive; "
        f"{seconds:.1f} s"
    )


def spark_backend() -> ModuleType:
    """features.spark, or exit with how to install it (PySpark is an optional extra)."""
    try:
        import features.spark
    except ImportError as exc:
        raise fail(
            f"--engine spark needs PySpark ({exc.name} is missing): "
            "pip install 'riskflag[spark]', with Java 17 or newer"
        ) from exc
    return features.spark


def _build_on_spark(
    data: str,
    out: str,
    config: FeatureConfig,
    policy: Policy,
    dates: list[date],
    deployment: Deployment,
    master: str | None,
    partitions: int | None,
    started: float,
) -> None:
    spark = spark_backend()
    try:
        session = spark.session(master)
        built = spark.build_features_spark(
            session, data, out, config, policy, dates, deployment, partitions
        )
    except spark.SparkJobError as exc:
        raise fail(str(exc), 1) from exc
    seconds = time.perf_counter() - started
    typer.echo(
        f"wrote {built.out} (Parquet partitioned by as_of): {built.rows:,} rows "
        f"({built.children:,} children x {len(dates)} as-of dates, eligible cohort) from "
        f"{built.partitions} Spark partitions; labels known for {built.labelled:,} rows, "
        f"{built.positives:,} positive; {seconds:.1f} s"
    )


@app.command("registry")
def registry(
    config: Annotated[Path | None, typer.Option(help="Feature configuration TOML.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy TOML.")] = None,
    lang: Annotated[str, typer.Option(help="en or zh")] = "en",
) -> None:
    """List every feature the configuration and policy produce, described."""
    try:
        specs = build_registry(load_feature_config(config), load_policy(policy)).specs
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    for spec in specs:
        text = spec.description_zh if lang.startswith("zh") else spec.description_en
        marker = " [association]" if spec.association else ""
        typer.echo(f"{spec.name}\t{spec.family}\t{text}{marker}")
