"""How good are a model's probabilities, judged on the held-out test block?

A risk flag is used three ways, so it is judged three ways:

- **Ranking** (ROC AUC, average precision): are children with the recorded outcome
  ranked above those without? A caseworker's queue is a ranking.
- **Calibration** (Brier score, expected calibration error, the outcome rate per 1-20
  score): does "0.30" mean that about 30% of children like this in the past had the
  recorded outcome? The probability is a calibrated rate of the recorded outcome, not a
  probability of harm, and it is only honest if it is calibrated.
- **Capacity** (precision and recall at the top 1%, 5% and 10% of rows and at the
  policy's own flags): of the children a team can review, how many had the outcome, and
  what share of all outcomes does that review reach?

Each metric is also computed per test as-of date, so that a model that is good on
average but unstable from one week's batch to the next is seen to be so. On synthetic
data the true risk is known (the "oracle"), and the lift ratio
``(auc - 0.5) / (oracle_auc - 0.5)`` says what share of the attainable ranking the model
reaches.

Expected calibration error (ECE) here: sort the rows by probability (ascending, stable),
cut that order into 20 bins of equal count (``np.array_split``, so sizes differ by at
most one; empty bins when there are fewer than 20 rows are skipped), and sum over bins
``(bin size / n) * |mean probability in the bin - outcome rate in the bin|``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

TOP_FRACTIONS: Final = (0.01, 0.05, 0.10)
CALIBRATION_BINS: Final = 20


class EvaluationError(ValueError):
    """Inputs that cannot be evaluated; says which input and why."""


@dataclass(frozen=True)
class AtK:
    """Precision and recall when the ``flagged`` rows are reviewed.

    ``k`` is the share of rows flagged (0.01 for the top 1%; flagged / n for the policy),
    ``flagged`` their count, ``positives`` how many of them had the recorded outcome.
    ``precision`` is None when nothing is flagged.
    """

    name: str
    k: float
    flagged: int
    positives: int
    precision: float | None
    recall: float


@dataclass(frozen=True)
class ScoreRow:
    """Rows with one 1-20 score: observed outcome rate beside the mean probability."""

    score: int
    n: int
    positives: int
    outcome_rate: float | None
    mean_probability: float | None


@dataclass(frozen=True)
class AsOfRow:
    """The metrics of one test as-of date (one weekly batch in service)."""

    as_of: str
    n: int
    positives: int
    base_rate: float
    roc_auc: float | None
    average_precision: float | None
    brier: float
    ece: float


@dataclass(frozen=True)
class CalibrationBin:
    """One equal-count bin of probabilities: mean predicted beside observed."""

    n: int
    mean_probability: float
    outcome_rate: float


@dataclass(frozen=True)
class Evaluation:
    n: int
    positives: int
    base_rate: float
    roc_auc: float
    average_precision: float
    brier: float
    ece: float
    at_k: tuple[AtK, ...]
    by_score: tuple[ScoreRow, ...]
    by_as_of: tuple[AsOfRow, ...]
    oracle_auc: float | None = None
    lift_ratio: float | None = None

    @property
    def policy(self) -> AtK:
        """The row for the policy's own flags (the last of ``at_k``)."""
        return self.at_k[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain ints, floats, strings, None, lists and dicts: ready for ``json.dumps``."""
        return asdict(self)

    def headline(self) -> dict[str, float]:
        """Flat metrics for MLflow; a metric that is undefined (nothing flagged) is left out."""
        metrics: dict[str, float] = {
            "base_rate": self.base_rate,
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
            "brier": self.brier,
            "ece": self.ece,
        }
        for row, suffix in zip(self.at_k, _suffixes(len(self.at_k) - 1), strict=True):
            if row.precision is not None:
                metrics[f"precision_at_{suffix}"] = row.precision
            metrics[f"recall_at_{suffix}"] = row.recall
        if self.oracle_auc is not None:
            metrics["oracle_auc"] = self.oracle_auc
        if self.lift_ratio is not None:
            metrics["lift_ratio"] = self.lift_ratio
        return metrics


def _suffixes(n_top: int) -> list[str]:
    return [f"{round(fraction * 100)}pct" for fraction in TOP_FRACTIONS[:n_top]] + ["policy"]


def calibration_bins(
    y: npt.ArrayLike, probability: npt.ArrayLike, bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Equal-count bins of the probabilities sorted ascending; empty bins are left out."""
    outcome = np.asarray(y, dtype=np.float64)
    prob = np.asarray(probability, dtype=np.float64)
    order = np.argsort(prob, kind="stable")
    return [
        CalibrationBin(int(part.size), float(prob[part].mean()), float(outcome[part].mean()))
        for part in np.array_split(order, bins)
        if part.size
    ]


def expected_calibration_error(
    y: npt.ArrayLike, probability: npt.ArrayLike, bins: int = CALIBRATION_BINS
) -> float:
    """Count-weighted mean gap between predicted and observed over equal-count bins."""
    parts = calibration_bins(y, probability, bins)
    n = sum(part.n for part in parts)
    return float(sum(part.n / n * abs(part.mean_probability - part.outcome_rate) for part in parts))


def _one_dimensional(name: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise EvaluationError(f"{name}: expected a one-dimensional array, got shape {array.shape}")
    return array


def _zero_one(name: str, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    array = _one_dimensional(name, values)
    if array.dtype == np.bool_:
        return array.astype(np.int64)
    if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
        raise EvaluationError(f"{name}: every value must be 0 or 1")
    return array.astype(np.int64)


def _dates(values: npt.ArrayLike | Sequence[Any]) -> npt.NDArray[np.datetime64]:
    try:
        array = np.asarray(values, dtype="datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"as_of: not dates ({exc})") from exc
    if array.ndim != 1:
        raise EvaluationError(f"as_of: expected a one-dimensional array, got shape {array.shape}")
    if np.isnat(array).any():
        raise EvaluationError("as_of: a missing date")
    return array


def _top_k(
    name: str, fraction: float, order: npt.NDArray[np.intp], outcome: npt.NDArray[np.int64]
) -> AtK:
    n = outcome.size
    k = max(1, math.floor(n * fraction))
    hits = int(outcome[order[:k]].sum())
    return AtK(name, fraction, k, hits, hits / k, hits / int(outcome.sum()))


def _ranking(y: npt.NDArray[np.int64], prob: npt.NDArray[np.float64]) -> tuple[float, float]:
    return float(roc_auc_score(y, prob)), float(average_precision_score(y, prob))


def _by_as_of(
    outcome: npt.NDArray[np.int64], prob: npt.NDArray[np.float64], dates: npt.NDArray[Any]
) -> tuple[AsOfRow, ...]:
    rows = []
    for day in np.unique(dates):
        mask = dates == day
        y, p = outcome[mask], prob[mask]
        positives = int(y.sum())
        both = 0 < positives < y.size
        rows.append(
            AsOfRow(
                as_of=str(day),
                n=int(y.size),
                positives=positives,
                base_rate=positives / y.size,
                roc_auc=float(roc_auc_score(y, p)) if both else None,
                average_precision=float(average_precision_score(y, p)) if positives else None,
                brier=float(brier_score_loss(y, p, labels=[0, 1])),
                ece=expected_calibration_error(y, p),
            )
        )
    return tuple(rows)


def evaluate(
    y: npt.ArrayLike,
    probability: npt.ArrayLike,
    score_1_20: npt.ArrayLike,
    flagged: npt.ArrayLike,
    as_of: npt.ArrayLike | Sequence[Any],
    oracle: npt.ArrayLike | None = None,
    capacity_name: str = "policy capacity",
) -> Evaluation:
    """Evaluate test-block probabilities, scores and the policy's flags against outcomes.

    ``y``: 1 when the recorded outcome followed within the horizon; ``as_of``: each row's
    as-of date (``datetime.date`` or ``datetime64``); ``oracle``: the true risk, known only
    on synthetic data. The top-k rows are the ``max(1, floor(n * fraction))`` highest
    probabilities, ties broken by row order.
    """
    outcome = _zero_one("y", y)
    prob = _one_dimensional("probability", probability)
    if prob.dtype.kind not in "iuf":
        raise EvaluationError(f"probability: expected numbers, got {prob.dtype}")
    prob = prob.astype(np.float64)
    scores = _one_dimensional("score_1_20", score_1_20)
    flags = _zero_one("flagged", flagged).astype(np.bool_)
    dates = _dates(as_of)
    inputs: dict[str, npt.NDArray[Any]] = {
        "probability": prob,
        "score_1_20": scores,
        "flagged": flags,
        "as_of": dates,
    }
    truth = None
    if oracle is not None:
        truth = _one_dimensional("oracle", oracle).astype(np.float64)
        inputs["oracle"] = truth
    n = outcome.size
    if n == 0:
        raise EvaluationError("nothing to evaluate: y is empty")
    for name, values in inputs.items():
        if values.size != n:
            raise EvaluationError(f"{name}: {values.size} values for {n} outcomes")
    if np.isnan(prob).any():
        raise EvaluationError("probability: NaN")
    if ((prob < 0) | (prob > 1)).any():
        raise EvaluationError("probability: values outside [0, 1]")
    if scores.dtype.kind not in "iu" or ((scores < 1) | (scores > 20)).any():
        raise EvaluationError("score_1_20: every value must be an integer from 1 to 20")
    if truth is not None and not np.isfinite(truth).all():
        raise EvaluationError("oracle: values must be finite")
    positives = int(outcome.sum())
    if positives in (0, n):
        only = "1" if positives else "0"
        raise EvaluationError(
            f"y: every outcome is {only}; ROC AUC and recall are undefined with a single class"
        )

    auc, ap = _ranking(outcome, prob)
    order = np.argsort(-prob, kind="stable")
    at_k = [
        _top_k(f"top {round(fraction * 100)}%", fraction, order, outcome)
        for fraction in TOP_FRACTIONS
    ]
    n_flagged = int(flags.sum())
    caught = int(outcome[flags].sum())
    at_k.append(
        AtK(
            capacity_name,
            n_flagged / n,
            n_flagged,
            caught,
            caught / n_flagged if n_flagged else None,
            caught / positives,
        )
    )
    by_score = []
    for score in range(1, 21):
        mask = scores == score
        count = int(mask.sum())
        hits = int(outcome[mask].sum())
        by_score.append(
            ScoreRow(
                score,
                count,
                hits,
                hits / count if count else None,
                float(prob[mask].mean()) if count else None,
            )
        )
    oracle_auc = lift = None
    if truth is not None:
        oracle_auc = float(roc_auc_score(outcome, truth))
        lift = (auc - 0.5) / (oracle_auc - 0.5) if oracle_auc > 0.5 else None
    return Evaluation(
        n=n,
        positives=positives,
        base_rate=positives / n,
        roc_auc=auc,
        average_precision=ap,
        brier=float(brier_score_loss(outcome, prob)),
        ece=expected_calibration_error(outcome, prob),
        at_k=tuple(at_k),
        by_score=tuple(by_score),
        by_as_of=_by_as_of(outcome, prob, dates),
        oracle_auc=oracle_auc,
        lift_ratio=lift,
    )
