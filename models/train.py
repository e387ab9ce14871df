"""Training end to end: features -> split -> fit -> calibrate -> evaluate -> audit.

Each block of the temporal split is built and collected on its own (training rows,
sampled; the calibration block; the test block), so memory follows the largest block
rather than the whole table. Tracking and registration are in models.tracking; this
module only computes, so notebooks can call it and inspect every intermediate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import features.schema as s
from features.build import build_features
from features.config import FeatureConfig, Necessity, Policy, check_necessity, load_necessity
from features.contract import CaseHistories
from features.linkage.summary import linkage_summary
from features.registry import Registry
from features.table import separations_of, shard_plan
from models.design import design_columns, design_matrix
from models.drift import Reference
from models.evaluation import Evaluation, evaluate
from models.fairness import FairnessReport, audit
from models.fairness_split import SplitReport, split_audit
from models.families import as_frame, make_pipeline
from models.flagging import FlaggingPolicy, GatePolicy, Ventiles
from models.monotone import column_directions
from models.riskmodel import CHUNK_ROWS, Float, Platt, RiskModel
from models.settings import TrainingSettings, plan_split
from models.splits import TemporalSplit
from models.tuning import tuned_params

Progress = Callable[[str], None]
ORACLE_FILE = "oracle.parquet"


@dataclass
class TrainResult:
    model: RiskModel
    split: TemporalSplit
    evaluation: Evaluation
    fairness: FairnessReport  # the policy's flags (its effect: models.fairness_split)
    fairness_model: SplitReport  # the model alone, judged at promotion
    scored_test: pl.DataFrame
    test_rows: pl.DataFrame
    counts: dict[str, int]
    sampling: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    factor_importance: list[tuple[str, float]] = field(default_factory=list)


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Blocks:
    """The collected rows (known labels only) of each block of a split; the training block
    holds every positive and negatives kept at ``negative_rate``."""

    train: pl.DataFrame
    calibration: pl.DataFrame
    test: pl.DataFrame
    registry: Registry
    label: str
    horizon_days: int
    negative_rate: float = 1.0


def negative_rate(children: int, train_dates: int, max_rows: int) -> float:
    """The share of negatives to keep so that the training block stays near ``max_rows``:
    a row per child and date at most, so ``max_rows / (children x dates)`` (the cohort and
    the positives make the real count somewhat smaller)."""
    return min(1.0, max_rows / max(children * train_dates, 1))


def sample_negatives(frame: pl.LazyFrame, label: str, rate: float, seed: int) -> pl.LazyFrame:
    """Every positive and a deterministic hash sample of negatives at ``rate``, applied
    before the rows are collected, so a large training block is never held whole."""
    if rate >= 1.0:
        return frame
    threshold = int(rate * (2**64 - 1))
    draw = pl.struct("child_id", "as_of").hash(seed)
    return frame.filter((pl.col(label) == 1) | (draw < threshold))


def planned_blocks(
    histories: CaseHistories, config: FeatureConfig, policy: Policy, settings: TrainingSettings
) -> Blocks:
    """The blocks of the split ``settings`` plan on this export, sampled as training
    samples them: what a benchmark or a notebook judging many arms builds once."""
    split = plan_split(settings, histories.exported_at, config.label.horizon_days)
    return build_blocks(histories, config, policy, split, settings.max_train_rows, settings.seed)


def build_blocks(
    histories: CaseHistories,
    config: FeatureConfig,
    policy: Policy,
    split: TemporalSplit,
    max_train_rows: int | None = None,
    seed: int = 0,
) -> Blocks:
    """Features of each block, built shard by shard (households kept together, one shard
    per ``CHILDREN_PER_SHARD`` children, as ``features build`` does) and collected one
    block at a time: memory follows a shard and the collected rows, not the population."""
    children = histories.children.select(pl.len()).collect().item()
    plan = shard_plan(histories)
    rate = negative_rate(children, len(split.train), max_train_rows) if max_train_rows else 1.0
    frames = []
    registry, label = None, ""
    for index, dates in enumerate((split.train, split.calibration, split.test)):
        parts = []
        for shard in plan:
            table = build_features(histories, config, policy, list(dates), shard)
            registry, label = table.registry, table.label
            rows = table.frame.filter(pl.col(label).is_not_null())
            if index == 0:
                rows = sample_negatives(rows, label, rate, seed)
            parts.append(rows.collect())
        frames.append(pl.concat(parts).sort("as_of", "child_id"))
    assert registry is not None
    return Blocks(frames[0], frames[1], frames[2], registry, label, split.horizon_days, rate)


def chunked_raw_log_odds(model: RiskModel, frame: pl.DataFrame) -> Float:
    parts = [
        model.raw_log_odds(model.matrix(frame.slice(start, CHUNK_ROWS)))
        for start in range(0, frame.height, CHUNK_ROWS)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def audit_attributes(histories: CaseHistories, rows: pl.DataFrame) -> pl.DataFrame:
    """Protected attributes of each (child, as-of) row, from the records, not the features.

    The feature policy may exclude a family (disability, say) from the model; the audit
    still asks how the model treats those children, so attributes are read from the
    children table and the events themselves.
    """
    areas = dict(histories.deployment.districts)
    children = histories.children.select(s.CHILD_ID, s.SEX, s.HUKOU, s.ETHNICITY).collect()
    certified = (
        histories.events.filter(pl.col(s.EVENT_TYPE) == "health.disability_certified")
        .group_by(s.CHILD_ID)
        .agg(pl.col(s.RECORDED_AT).min().alias("_certified_at"))
        .collect()
    )
    out = (
        rows.select("child_id", "as_of", "district")
        .join(children, on="child_id", how="left")
        .join(certified, on="child_id", how="left")
        .with_columns(
            pl.col("district").replace_strict(areas, return_dtype=pl.String).alias("area"),
            pl.when(pl.col("_certified_at").dt.date() <= pl.col("as_of"))
            .then(pl.lit("certified"))
            .otherwise(pl.lit("not certified"))
            .alias("disability"),
            pl.col(s.SEX).cast(pl.String),
            pl.col(s.HUKOU).cast(pl.String),
            pl.col(s.ETHNICITY).cast(pl.String),
        )
        .drop("_certified_at")
    )
    return out


def oracle_of(histories: CaseHistories, rows: pl.DataFrame, horizon_days: int) -> Float | None:
    """The synthetic generator's true rate for each row, when the folder carries one."""
    path = Path(histories.source) / ORACLE_FILE
    if not path.is_file():
        return None
    oracle = pl.read_parquet(path).filter(pl.col("horizon_days") == horizon_days)
    joined = rows.select("child_id", "as_of").join(
        oracle.select("child_id", "as_of", pl.col("probability").alias("_oracle")),
        on=["child_id", "as_of"],
        how="left",
    )
    values = joined["_oracle"]
    if values.null_count():
        return None
    return values.to_numpy().astype(np.float64)


def fit_model(
    family: str,
    blocks: Blocks,
    config: FeatureConfig,
    policy: Policy,
    settings: TrainingSettings,
) -> RiskModel:
    """Fit on the training block (directions held), calibrate on the calibration block,
    and fit the 1-20 ventiles on the training population's calibrated rates."""
    columns = design_columns(blocks.registry)
    names = [column.name for column in columns]
    matrix = design_matrix(blocks.train, blocks.registry)[0].astype(np.float64, copy=False)
    y_train = blocks.train[blocks.label].to_numpy().astype(np.int8)
    directions = column_directions(columns, blocks.registry.specs, settings.increasing)
    params = tuned_params(
        family, settings.model.get(family, {}), (matrix, y_train, blocks.train["as_of"].to_numpy()),
        blocks.horizon_days, names, directions, settings.seed,
    )  # fmt: skip
    pipeline = make_pipeline(family, names, params, settings.seed, directions)
    pipeline.fit(as_frame(matrix, names), y_train)
    del matrix
    model = RiskModel(
        family=family,
        pipeline=pipeline,
        columns=columns,
        specs=blocks.registry.specs,
        label=blocks.label,
        horizon_days=config.label.horizon_days,
        platt=Platt(1.0, 0.0),
        ventiles=Ventiles((0.0,) * 19),
        config=config,
        policy=policy,
        provenance={"params": params},
    )
    if family == "scorecard":
        model.points_to_double_odds = float(pipeline[-1].points_to_double_odds)
    raw_calibration = chunked_raw_log_odds(model, blocks.calibration)
    model.platt = Platt.fit(raw_calibration, blocks.calibration[blocks.label].to_numpy())
    rate = blocks.negative_rate
    training = 1 / (1 + np.exp(-model.platt(chunked_raw_log_odds(model, blocks.train))))
    weights = np.where(y_train == 1, 1.0, 1.0 / rate) if rate < 1 else None
    model.ventiles = Ventiles.fit(training, weights)
    names = [spec.name for spec in blocks.registry.specs]
    scores = model.ventiles.score(training)
    model.reference = Reference.of(blocks.train, names, weights, scores)
    return model


def judge(
    model: RiskModel,
    histories: CaseHistories,
    test_rows: pl.DataFrame,
    flagging: FlaggingPolicy,
    gates: GatePolicy,
) -> tuple[pl.DataFrame, Evaluation, FairnessReport, SplitReport]:
    """Score the test block under the flagging policy, evaluate it and audit fairness:
    the policy's flags, and the model alone (models.fairness_split)."""
    scored = model.score(test_rows, flagging).with_columns(
        test_rows[model.label].cast(pl.Int8).alias("y")
    )
    evaluation = evaluate(
        y=scored["y"].to_numpy(),
        probability=scored["probability"].to_numpy(),
        score_1_20=scored["score_1_20"].to_numpy(),
        flagged=scored["flagged"].to_numpy(),
        as_of=scored["as_of"].to_numpy(),
        oracle=oracle_of(histories, scored, model.horizon_days),
    )
    audited = audit_attributes(histories, scored).join(
        scored.select("child_id", "as_of", "y", "probability", "flagged"),
        on=["child_id", "as_of"],
        how="left",
    )
    fairness = audit(
        audited, gates.attributes, tolerance=gates.tolerance, min_count=gates.min_count
    )
    alone = split_audit(audited, fairness, gates.attributes, gates.tolerance, gates.min_count)
    return scored, evaluation, fairness, alone


def train(
    histories: CaseHistories,
    family: str,
    config: FeatureConfig,
    policy: Policy,
    flagging: FlaggingPolicy,
    gates: GatePolicy,
    settings: TrainingSettings,
    progress: Progress = _quiet,
    blocks: Blocks | None = None,
    necessity: Mapping[str, Necessity] | None = None,
) -> TrainResult:
    """Plan the split, build its blocks, fit, calibrate and judge ``family``.

    ``blocks``: features already built for this split (a benchmark or a notebook
    comparing families builds them once)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    split = plan_split(settings, histories.exported_at, config.label.horizon_days)
    progress(f"split: {split.describe()}")
    if blocks is None:
        blocks = build_blocks(
            histories, config, policy, split, settings.max_train_rows, settings.seed
        )
    lap("features")
    statements = load_necessity() if necessity is None else necessity
    used = sorted({spec.family for spec in blocks.registry.specs})
    check_necessity(used, statements)
    positives = int(blocks.train[blocks.label].sum())
    # rows the block held before sampling, estimated from the kept negatives
    n_train_all = positives + round((blocks.train.height - positives) / blocks.negative_rate)
    progress(
        f"training rows: {blocks.train.height:,} fitted ({positives:,} positive; negatives "
        f"kept at rate {blocks.negative_rate:.3f} of about {n_train_all - positives:,})"
    )
    model = fit_model(family, blocks, config, policy, settings)
    lap("fit_and_calibrate")
    progress(f"fitted {family} and calibrated on {blocks.calibration.height:,} rows: {model.platt}")
    scored, evaluation, fairness, alone = judge(model, histories, blocks.test, flagging, gates)
    lap("evaluate")
    progress(f"test AUC {evaluation.roc_auc:.4f}, calibration error {evaluation.ece:.4f}")
    model.provenance = {
        **model.provenance,
        "feature_config_sha256": config.digest(),
        "feature_policy_sha256": policy.digest(),
        "split": split.describe(),
        "exported_at": histories.exported_at.isoformat(),
        # each feature family's legal basis and necessity, as the policy stated them
        "necessity": {family: asdict(statements[family]) for family in used},
        # the record corrections the training data honoured (count and digest), if any
        "corrections": histories.corrections,
        # the household markings it honoured (count and digest), if any
        "separations": separations_of(histories),
        "negative_rate": blocks.negative_rate,
        # how well the training data was linked, when riskflag linked it
        "linkage": linkage_summary(Path(histories.source)),
    }
    return TrainResult(
        model=model,
        split=split,
        evaluation=evaluation,
        fairness=fairness,
        fairness_model=alone,
        scored_test=scored,
        test_rows=blocks.test,
        counts={
            "train_rows": n_train_all,
            "train_rows_fitted": blocks.train.height,
            "calibration_rows": blocks.calibration.height,
            "test_rows": blocks.test.height,
            "design_columns": len(model.columns),
        },
        sampling={"max_train_rows": settings.max_train_rows, "negative_rate": blocks.negative_rate},
        timings=timings,
        factor_importance=factor_importance(model, blocks.test),
    )


def factor_importance(
    model: RiskModel, frame: pl.DataFrame, rows: int = 20_000
) -> list[tuple[str, float]]:
    """Mean absolute log-odds contribution of each factor over (a sample of) ``frame``."""
    sample = frame if frame.height <= rows else frame.sample(n=rows, seed=0)
    explanation = model.explain(model.matrix(sample))
    means = np.abs(explanation.log_odds).mean(axis=0)
    order = np.argsort(-means, kind="stable")
    return [(explanation.factors[i].name, float(means[i])) for i in order if means[i] > 0]
