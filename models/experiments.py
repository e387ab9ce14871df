"""Arms judged on the same rows: families, their settings, and a plain peer, out of time.

Why: a choice of family, constraint, binning or regularisation earns its place only by
a measured difference on the same rows, on more than one world. ``make bench-models``
and the retraining notebook judge many arms on one split; this module fits and judges
one arm, with the split's design matrices built once and shared by every arm.

How: an ``Arm`` is a family (or ``plain``, an unconstrained scikit-learn logistic
regression on the same standardised design columns, the peer a family must beat) with
parameters over the training settings' and a switch for the direction constraints. Each
arm is fitted on the training block, Platt-calibrated on the calibration block, and its
test rows scored 1-20 and flagged under the flagging policy exactly as ``riskflag
train`` does (``models.flagging.flag``), then evaluated (``models.evaluation``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from models.design import Column, design_columns, design_matrix
from models.evaluation import Evaluation, evaluate
from models.families import as_frame
from models.families import make_pipeline as family_pipeline
from models.flagging import FlaggingPolicy, Ventiles, flag
from models.monotone import column_directions
from models.riskmodel import Float, Platt
from models.settings import TrainingSettings
from models.train import Blocks
from models.tuning import tuned_params

PLAIN = "plain"


@dataclass(frozen=True)
class Arm:
    """One thing judged: ``family`` (a model family or ``plain``) with ``params`` over the
    training settings' ``[model.<family>]``; ``constrained`` holds the settings' direction
    constraints (``direction.increasing``), False fits every column free."""

    name: str
    family: str
    params: dict[str, Any] = field(default_factory=dict)
    constrained: bool = True


@dataclass(frozen=True)
class Matrices:
    """The design matrix and labels of each block, built once per split."""

    columns: list[Column]
    train: Float
    calibration: Float
    test: Float
    y_train: np.ndarray
    y_calibration: np.ndarray

    @classmethod
    def of(cls, blocks: Blocks) -> Matrices:
        def matrix(frame: pl.DataFrame) -> Float:
            return design_matrix(frame, blocks.registry)[0].astype(np.float64, copy=False)

        return cls(
            columns=design_columns(blocks.registry),
            train=matrix(blocks.train),
            calibration=matrix(blocks.calibration),
            test=matrix(blocks.test),
            y_train=blocks.train[blocks.label].to_numpy().astype(np.int8),
            y_calibration=blocks.calibration[blocks.label].to_numpy().astype(np.int8),
        )


@dataclass(frozen=True)
class Judged:
    """An arm's out-of-time evaluation, its fit time and the parameters it used."""

    arm: Arm
    evaluation: Evaluation
    fit_seconds: float
    params: dict[str, Any]


def fitted(
    arm: Arm, blocks: Blocks, matrices: Matrices, settings: TrainingSettings
) -> tuple[Pipeline, dict[str, Any]]:
    """The arm's pipeline fitted on the training block, and the parameters it used (a
    list-valued parameter chosen by temporal validation inside the training block)."""
    names = [column.name for column in matrices.columns]
    if arm.family == PLAIN:
        plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        plain.set_params(**{f"logisticregression__{k}": v for k, v in arm.params.items()})
        return plain.fit(as_frame(matrices.train, names), matrices.y_train), dict(arm.params)
    increasing = settings.increasing if arm.constrained else ()
    directions = column_directions(matrices.columns, blocks.registry.specs, increasing)
    params = {**settings.model.get(arm.family, {}), **arm.params}
    training = (matrices.train, matrices.y_train, blocks.train["as_of"].to_numpy())
    params = tuned_params(
        arm.family, params, training, blocks.horizon_days, names, directions, settings.seed
    )
    pipeline = family_pipeline(arm.family, names, params, settings.seed, directions)
    return pipeline.fit(as_frame(matrices.train, names), matrices.y_train), params


def judge_arm(
    arm: Arm,
    blocks: Blocks,
    matrices: Matrices,
    settings: TrainingSettings,
    flagging: FlaggingPolicy,
    oracle: Float | None = None,
) -> Judged:
    """Fit, calibrate, score, flag and evaluate ``arm`` on the split's test block."""
    started = time.perf_counter()
    pipeline, params = fitted(arm, blocks, matrices, settings)
    seconds = time.perf_counter() - started
    names = [column.name for column in matrices.columns]

    def raw(matrix: Float) -> Float:
        return np.asarray(pipeline.decision_function(as_frame(matrix, names)), np.float64)

    platt = Platt.fit(raw(matrices.calibration), matrices.y_calibration)
    train_rate = expit(platt(raw(matrices.train)))
    weights = None
    if blocks.negative_rate < 1:
        weights = np.where(matrices.y_train == 1, 1.0, 1.0 / blocks.negative_rate)
    ventiles = Ventiles.fit(train_rate, weights)
    probability = expit(platt(raw(matrices.test)))
    scored = flag(
        blocks.test.select("child_id", "as_of", "district").with_columns(
            pl.Series("probability", probability),
            pl.Series("score_1_20", ventiles.score(probability)),
        ),
        flagging,
    )
    evaluation = evaluate(
        y=blocks.test[blocks.label].to_numpy(),
        probability=probability,
        score_1_20=scored["score_1_20"].to_numpy(),
        flagged=scored["flagged"].to_numpy(),
        as_of=scored["as_of"].to_numpy(),
        oracle=oracle,
    )
    return Judged(arm, evaluation, seconds, params)
