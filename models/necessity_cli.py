"""`riskflag necessity`: what each sensitive feature family buys, for an agency to decide
with the figures in front of it (PIPL Art. 28: minors' data used only where necessary).

Trains the model family once under the policy and once per sensitive family left out (or,
for association, turned on), on the same temporal split, and prints per family the test
AUC with and without it and how many test rows' flags change (models.compare)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from features.config import ConfigError, load_feature_config, load_policy
from features.console import fail
from features.deployment import DeploymentError, load_deployment
from features.features_cli import CORRECTIONS_HELP, histories_or_exit
from models.family_names import FAMILIES
from models.flagging import FlaggingError, load_flagging_policy, load_gate_policy
from models.settings import TrainingSettingsError, load_training_settings


def necessity_command(
    data: Annotated[Path, typer.Option(help="Data folder (contract v1).")],
    model: Annotated[str, typer.Option(help=f"Model family: {', '.join(FAMILIES)}.")] = "scorecard",
    policy: Annotated[Path | None, typer.Option(help="Feature policy TOML.")] = None,
    flagging: Annotated[Path | None, typer.Option(help="Flagging policy TOML.")] = None,
    training: Annotated[Path | None, typer.Option(help="Training settings TOML.")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    corrections: Annotated[Path | None, typer.Option(help=CORRECTIONS_HELP)] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the table here (.csv).")] = None,
) -> None:
    """What disability, mental health, poverty, hukou and association features buy: test
    AUC with and without each, and the flags that change."""
    from models.compare import (  # noqa: PLC0415 (scikit-learn: loaded when it trains)
        family_value,
        policy_variants,
        sensitive_variants,
    )

    if model not in FAMILIES:
        raise fail(f"--model {model!r}: one of {', '.join(FAMILIES)}")
    started = time.perf_counter()
    try:
        settings = load_deployment(deployment)
        base, config = load_policy(policy), load_feature_config(None)
        flags, gates = load_flagging_policy(flagging), load_gate_policy(flagging)
        training_settings = load_training_settings(training)
    except (ConfigError, DeploymentError, FlaggingError, TrainingSettingsError) as exc:
        raise fail(str(exc)) from exc
    histories = histories_or_exit(data, settings, corrections)
    variants = sensitive_variants(base)
    typer.echo(f"training {model} {len(variants)} times: {', '.join(variants)}", err=True)
    trained = policy_variants(histories, model, config, variants, flags, gates, training_settings)
    table = family_value(trained)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4):
        typer.echo(str(table))
    if out is not None:
        table.write_csv(out)
    typer.echo(f"{time.perf_counter() - started:.0f} s", err=True)
