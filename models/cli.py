"""`riskflag train`, `riskflag promote`, `riskflag score`, `riskflag models`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from features.config import ConfigError, load_feature_config, load_necessity, load_policy
from features.console import fail
from features.deployment import Deployment, DeploymentError, load_deployment
from features.features_cli import (
    BACKEND_HELP,
    CORRECTIONS_HELP,
    MASTER_HELP,
    PARTITIONS_HELP,
    SEPARATIONS_HELP,
    Backend,
    histories_or_exit,
    spark_backend,
)
from models.design import DesignError
from models.family_names import FAMILIES, FamilyError
from models.flagging import FlaggingError, FlaggingPolicy, load_flagging_policy, load_gate_policy
from models.necessity_cli import necessity_command
from models.settings import TrainingSettingsError, load_training_settings

TRACKING_HELP = "MLflow tracking URI (default: $RISKFLAG_TRACKING_URI, else sqlite:///mlflow.db)."


def _progress(started: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        typer.echo(f"[{time.perf_counter() - started:7.1f}s] {message}", err=True)

    return say


def train_command(
    data: Annotated[Path, typer.Option(help="Data folder (contract v1).")],
    model: Annotated[str, typer.Option(help=f"Model family: {', '.join(FAMILIES)}.")] = "scorecard",
    config: Annotated[Path | None, typer.Option(help="Feature configuration TOML.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Feature policy TOML.")] = None,
    flagging: Annotated[
        Path | None, typer.Option(help="Flagging, promotion and fairness policy TOML.")
    ] = None,
    training: Annotated[
        Path | None, typer.Option(help="Training settings TOML (dates, sampling, model).")
    ] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    corrections: Annotated[Path | None, typer.Option(help=CORRECTIONS_HELP)] = None,
    separations: Annotated[Path | None, typer.Option(help=SEPARATIONS_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Validate, build features, split, fit, calibrate, evaluate, audit and register."""
    from models.tracking import log_and_register
    from models.train import train

    if model not in FAMILIES:
        raise fail(f"--model {model!r}: one of {', '.join(FAMILIES)}")
    started = time.perf_counter()
    say = _progress(started)
    try:
        settings = load_deployment(deployment)
        feature_config, feature_policy = load_feature_config(config), load_policy(policy)
        flagging_policy, gates = load_flagging_policy(flagging), load_gate_policy(flagging)
        training_settings = load_training_settings(training)
    except (ConfigError, DeploymentError, FlaggingError, TrainingSettingsError) as exc:
        raise fail(str(exc)) from exc
    say(f"validating {data}")
    histories = histories_or_exit(data, settings, corrections, separations)
    try:
        result = train(
            histories,
            model,
            feature_config,
            feature_policy,
            flagging_policy,
            gates,
            training_settings,
            progress=say,
            necessity=load_necessity(policy),
        )
    except (TrainingSettingsError, FamilyError, DesignError, ValueError) as exc:
        raise fail(str(exc)) from exc
    say("logging the run and registering the model")
    registered = log_and_register(result, training_settings, flagging_policy, gates, tracking_uri)
    summary = {
        "run_id": registered.run_id,
        "model": "riskflag-urgent",
        "version": registered.version,
        "alias": "challenger",
        "family": model,
        "sha256": registered.sha256,
        "tracking_uri": registered.tracking_uri,
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": {k: round(v, 5) for k, v in result.evaluation.headline().items()},
        "fairness_violations": len(result.fairness_model.violations()),  # the model alone
        "policy_disparities": len(result.fairness.violations()),  # the capacity policy's
    }
    typer.echo(json.dumps(summary))


def promote_command(
    version: Annotated[str, typer.Argument(help="Version number (or alias) to promote.")],
    force: Annotated[bool, typer.Option(help="Promote even if a gate fails.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --force).")] = None,
    justify_disparity: Annotated[
        str | None, typer.Option(help="Justification accepted for disparities outside tolerance.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who promotes (default: the OS user).")] = None,
    flagging: Annotated[
        Path | None, typer.Option(help="Flagging, promotion and fairness policy TOML.")
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Move alias `champion` to VERSION when the promotion gates pass."""
    from models.registry import RegistryError, promote, use_tracking

    try:
        gates = load_gate_policy(flagging)
    except FlaggingError as exc:
        raise fail(str(exc)) from exc
    use_tracking(tracking_uri)
    try:
        done, results = promote(version, gates, force, reason, justify_disparity, by)
    except RegistryError as exc:
        raise fail(str(exc)) from exc
    for gate in results:
        typer.echo(f"{'pass' if gate.passed else 'FAIL'}  {gate.name:13s} {gate.detail}")
    if not done:
        typer.echo(
            f"not promoted: version {version} fails a gate (--force --reason TEXT overrides, "
            "and is recorded)",
            err=True,
        )
        raise typer.Exit(1)
    forced = not all(gate.passed for gate in results)
    typer.echo(f"version {version} is now the champion" + (" (forced)" if forced else ""))


def score_command(
    data: Annotated[str, typer.Option(help="Data folder (contract v1); a URI with Spark.")],
    as_of: Annotated[str, typer.Option(help="As-of date to score, YYYY-MM-DD.")],
    out: Annotated[
        str, typer.Option(help="Output: a .parquet or .csv file; with Spark, a new folder.")
    ],
    model_uri: Annotated[
        str, typer.Option(help="models:/riskflag-urgent/<version or @alias>.")
    ] = "models:/riskflag-urgent/@champion",
    flagging: Annotated[Path | None, typer.Option(help="Flagging policy TOML.")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    corrections: Annotated[Path | None, typer.Option(help=CORRECTIONS_HELP)] = None,
    separations: Annotated[Path | None, typer.Option(help=SEPARATIONS_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
    backend: Annotated[Backend, typer.Option("--engine", help=BACKEND_HELP)] = Backend.polars,
    spark_master: Annotated[str | None, typer.Option(help=MASTER_HELP)] = None,
    partitions: Annotated[int | None, typer.Option(min=1, help=PARTITIONS_HELP)] = None,
) -> None:
    """Score every eligible child on one as-of date with the champion (or --model-uri):
    probability, 1-20 score, tier, flag, top factors and the records behind each."""
    from models.batch import score_batch  # scikit-learn: loaded by the commands that score
    from models.registry import RegistryError, load_payload, use_tracking, version_payload
    from models.registry import version_ref as ref_of

    try:
        day = date.fromisoformat(as_of)
    except ValueError as exc:
        raise fail(f"--as-of {as_of!r} is not a YYYY-MM-DD date") from exc
    if backend is Backend.polars and Path(out).suffix not in (".parquet", ".csv"):
        raise fail(f"--out {out}: use a .parquet or .csv file name")
    try:
        settings = load_deployment(deployment)
        policy = load_flagging_policy(flagging)
    except (DeploymentError, FlaggingError) as exc:
        raise fail(str(exc)) from exc
    use_tracking(tracking_uri)
    try:
        payload, sha256 = version_payload(ref_of(model_uri))
        model = load_payload(payload, sha256)
    except RegistryError as exc:
        raise fail(str(exc)) from exc
    if backend is Backend.spark:
        if corrections is not None or separations is not None:
            raise fail("--corrections, --separations: not yet with --engine spark; use polars")
        _score_on_spark(data, out, payload, sha256, policy, day, settings, spark_master, partitions)
        return
    histories = histories_or_exit(Path(data), settings, corrections, separations)
    if day > histories.exported_at.date():
        raise fail(f"--as-of {day} is after the export ({histories.exported_at.date()})")
    try:
        scored = score_batch(histories, model, policy, day)
    except DesignError as exc:
        raise fail(f"the data do not fit the model's features: {exc}") from exc
    _write_scores(scored, Path(out))
    flagged = int(scored["flagged"].sum())
    typer.echo(
        f"scored {scored.height:,} children on {day} with {model.family}: "
        f"{flagged:,} flagged; wrote {out}"
    )


def _write_scores(scored: pl.DataFrame, out: Path) -> None:
    """Atomically: a temporary file beside ``out``, then a rename. In CSV, a factor's
    records are its event_ids separated by spaces."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.partial")
    if out.suffix == ".csv":
        lists = [name for name, dtype in scored.schema.items() if isinstance(dtype, pl.List)]
        scored.with_columns(
            pl.col("tier").cast(pl.String), *(pl.col(c).list.join(" ") for c in lists)
        ).write_csv(temporary)
    else:
        scored.write_parquet(temporary)
    temporary.replace(out)


def _score_on_spark(
    data: str,
    out: str,
    payload: bytes,
    sha256: str,
    policy: FlaggingPolicy,
    day: date,
    deployment: Deployment,
    master: str | None,
    partitions: int | None,
) -> None:
    spark = spark_backend()
    from models.spark import score_spark

    try:
        scored = score_spark(
            spark.session(master), data, out, payload, sha256, policy, day, deployment, partitions
        )
    except spark.SparkJobError as exc:
        raise fail(str(exc), 1) from exc
    loads = "once" if scored.model_loads == 1 else f"{scored.model_loads} times"
    typer.echo(
        f"scored {scored.children:,} children on {day} on Spark ({scored.partitions} "
        f"partitions; the model loaded {loads}, once per Python worker): "
        f"{scored.flagged:,} flagged; wrote {out} (Parquet partitioned by as_of)"
    )


def register(app: typer.Typer, score: bool = True) -> None:
    """Add train, promote, necessity and (unless a caller wraps it) score."""
    app.command("train")(train_command)
    app.command("promote")(promote_command)
    app.command("necessity")(necessity_command)
    if score:
        app.command("score")(score_command)
