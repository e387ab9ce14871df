"""Outcome monitoring: how a past batch's scores turned out, once its horizon has passed.

Why: a model is judged out of time before it is promoted, and then only by its promise.
The batches it scores in service are the test that matters. Once a batch's horizon has
passed, the outcomes recorded since say how well its ranking held (AUC), how many of its
flags were followed by the outcome (precision at the flags), and whether its rates were
honest (calibration: the observed rate beside the mean rate at each 1-20 score), overall
and for each group of area, district, hukou, sex and disability.

How: the batch's rows are joined to the labels the feature pipeline computes for the
batch's date (``labels``: features.build, the one definition of the label; null where
the horizon passes the export's date). The overall figures are ``models.evaluation.
evaluate`` on those rows, the code that judged the model at training. Each group's AUC
carries the Hanley-McNeil interval and its precision and observed rate the Jeffreys
interval, at 95%; a group with fewer than ``SMALL_ROWS`` children or ``SMALL_POSITIVES``
outcomes is marked small, so nobody reads a ratio of three children as a finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import numpy as np
import polars as pl
from scipy.stats import beta
from sklearn.metrics import roc_auc_score

from features import schema as s
from features.build import build_features
from features.contract import CaseHistories
from models.evaluation import Evaluation, EvaluationError, evaluate
from models.riskmodel import RiskModel

GROUPS: Final = ("area", "district", "hukou", "sex", "disability")
CERTIFIED: Final = "health.disability_certified"
SMALL_ROWS: Final = 100
SMALL_POSITIVES: Final = 10
Z: Final = 1.959963984540054  # 95%


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class GroupOutcome:
    """One group's outcomes: its children, outcomes and flags, AUC, precision at the
    flags and observed rate beside the mean calibrated rate, each with its interval."""

    attribute: str
    group: str
    n: int
    positives: int
    flagged: int
    auc: Interval
    precision: Interval
    observed_rate: Interval
    mean_rate: float
    small: bool


@dataclass(frozen=True)
class OutcomeReport:
    as_of: date
    horizon_days: int
    evaluation: Evaluation
    groups: tuple[GroupOutcome, ...]


def labels(histories: CaseHistories, model: RiskModel, as_of: date) -> pl.DataFrame:
    """Each child of the model's population on ``as_of``: its label (null until the
    horizon has passed by the export's date), and its groups: district, area, hukou and
    sex from the child's row; disability, "true" where a disability certificate was
    recorded by the date (the rule of the ``status__disabled`` feature)."""
    table = build_features(histories, model.config, model.policy, [as_of]).frame
    moment = datetime(as_of.year, as_of.month, as_of.day)
    certified = (pl.col(s.EVENT_TYPE).cast(pl.String) == CERTIFIED) & (
        pl.col(s.RECORDED_AT) <= moment
    )
    disabled = (
        histories.events.filter(certified)
        .select(s.CHILD_ID)
        .unique()
        .with_columns(pl.lit("true").alias("disability"))
    )
    areas = pl.LazyFrame(
        {s.DISTRICT: list(histories.deployment.districts),
         "area": list(histories.deployment.districts.values())}
    )  # fmt: skip
    people = histories.children.select(
        s.CHILD_ID, s.DISTRICT, pl.col(s.HUKOU).cast(pl.String), pl.col(s.SEX).cast(pl.String)
    )
    return (
        table.select(s.CHILD_ID, pl.col(model.label).alias("label"))
        .join(people, on=s.CHILD_ID, how="left")
        .join(areas, on=s.DISTRICT, how="left")
        .join(disabled, on=s.CHILD_ID, how="left")
        .with_columns(pl.col("disability").fill_null("false"))
        .collect()
    )


def outcome_report(
    scored: pl.DataFrame, labelled: pl.DataFrame, as_of: date, horizon_days: int
) -> OutcomeReport | None:
    """The outcomes of a batch's rows ``scored`` (child_id, probability, score_1_20,
    flagged) by ``labelled`` (``labels``), or None before its horizon has passed (no
    label known) or where one class is missing."""
    rows = scored.join(labelled, on=s.CHILD_ID, how="inner").filter(pl.col("label").is_not_null())
    if rows.is_empty():
        return None
    y = rows["label"].to_numpy().astype(np.int64)
    try:
        evaluation = evaluate(
            y,
            rows["probability"].to_numpy(),
            rows["score_1_20"].to_numpy().astype(np.int64),
            rows["flagged"].to_numpy(),
            np.full(rows.height, np.datetime64(as_of, "D")),
        )
    except EvaluationError:
        return None
    groups = tuple(
        _group(attribute, str(key), part)
        for attribute in GROUPS
        for (key,), part in sorted(rows.partition_by(attribute, as_dict=True).items(), key=str)
    )
    return OutcomeReport(as_of, horizon_days, evaluation, groups)


def _group(attribute: str, group: str, rows: pl.DataFrame) -> GroupOutcome:
    y = rows["label"].to_numpy().astype(np.int64)
    flagged = rows["flagged"].to_numpy().astype(bool)
    probability = rows["probability"].to_numpy()
    n, positives, hits = int(y.size), int(y.sum()), int(y[flagged].sum())
    return GroupOutcome(
        attribute=attribute,
        group=group,
        n=n,
        positives=positives,
        flagged=int(flagged.sum()),
        auc=auc_interval(y, probability),
        precision=jeffreys(hits, int(flagged.sum())),
        observed_rate=jeffreys(positives, n),
        mean_rate=float(probability.mean()),
        small=n < SMALL_ROWS or positives < SMALL_POSITIVES,
    )


def auc_interval(y: np.ndarray, probability: np.ndarray) -> Interval:
    """The ROC AUC with the Hanley-McNeil (1982) 95% interval; None with one class."""
    positives, negatives = int(y.sum()), int(y.size - y.sum())
    if positives == 0 or negatives == 0:
        return Interval(None, None, None)
    area = float(roc_auc_score(y, probability))
    q1, q2 = area / (2 - area), 2 * area**2 / (1 + area)
    variance = (
        area * (1 - area) + (positives - 1) * (q1 - area**2) + (negatives - 1) * (q2 - area**2)
    ) / (positives * negatives)
    half = Z * math.sqrt(max(variance, 0.0))
    return Interval(area, max(0.0, area - half), min(1.0, area + half))


def jeffreys(successes: int, trials: int) -> Interval:
    """A proportion with its Jeffreys 95% interval; None of no trials."""
    if trials == 0:
        return Interval(None, None, None)
    a, b = successes + 0.5, trials - successes + 0.5
    low = 0.0 if successes == 0 else float(beta.ppf(0.025, a, b))
    high = 1.0 if successes == trials else float(beta.ppf(0.975, a, b))
    return Interval(successes / trials, low, high)
