"""Direction constraints: more evidence of danger never lowers a child's score.

A model fitted freely on correlated features can learn that one more substantiated
finding *lowers* the outcome rate (a recent finding means the agency has already acted,
a short "days since" trades off against a long count window, ...). Shown to a caseworker
that is absurd, and the field has been burnt by it. So the direction of every feature
that a risk-increasing event moves is a policy (``[direction]`` of the training
settings), and every family honours it:

- for each design column, ``+1`` (non-decreasing), ``-1`` (non-increasing) or ``0``;
- a count, recency-weighted count, maximum severity or amount of a risk-increasing
  event, and the number of sources reporting: ``+1``; its "days since the last" and
  "never recorded" (and a severity's "none recorded"): ``-1``; a trend of such an event
  is refused (one more old event lowers it); a status, and the days since one was last
  set, are not held (``0``): neither a longer nor a shorter time is evidence of danger;
- an event type matches a selector ``"type"`` (any detail) or ``"type:detail"``; a
  feature of the event type without a detail matches every selector of that type.

``L1Logistic`` is L1-penalised logistic regression with sign bounds on the coefficients,
solved exactly with L-BFGS-B (with signs fixed, the L1 norm is linear, so the problem is
smooth with box constraints); it is the ``logistic`` family and the scorecard's solver.
"""

# sklearn's names: X for the input matrix, C for the inverse penalty strength.
# ruff: noqa: N803, N806
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.utils.validation import validate_data

from features.registry import FeatureSpec
from models.additive import AdditiveClassifier, check_binary_target, monotone_signs
from models.design import Column

FloatArray = npt.NDArray[np.float64]

INCREASING_KINDS: Final = ("count", "max_severity", "sum_amount", "household", "decayed", "sources")
DECREASING_KINDS: Final = ("days_since", "never")
# one more event can move these either way (a trend falls when an event 90-365 days old
# is added): no direction holds the guarantee, so they cannot be built from held events
EITHER_WAY_KINDS: Final = ("trend",)


class DirectionError(ValueError):
    """A feature whose direction under a held event cannot be kept; names it."""


def _matches(spec: FeatureSpec, selectors: Sequence[str]) -> bool:
    for selector in selectors:
        event_type, _, detail = selector.partition(":")
        if event_type not in spec.sources:
            continue
        if spec.detail is None or not detail or spec.detail == detail:
            return True
    return False


def column_directions(
    columns: Sequence[Column], specs: Sequence[FeatureSpec], increasing: Sequence[str]
) -> list[int]:
    """The direction (+1, -1, 0) of each design column under the risk-increasing events."""
    by_name = {spec.name: spec for spec in specs}
    directions = []
    for column in columns:
        spec = by_name[column.feature]
        if column.category is not None or not _matches(spec, increasing):
            directions.append(0)
        elif spec.kind in EITHER_WAY_KINDS:
            raise DirectionError(
                f"{spec.name}: one more {'/'.join(spec.sources)} event, held increasing by "
                "direction.increasing, can lower this feature, so no model could keep more "
                "evidence of danger from lowering a score; drop `trend` from that aggregate "
                "of the feature configuration, or the event from direction.increasing"
            )
        elif column.absent_indicator or spec.kind in DECREASING_KINDS:
            directions.append(-1)
        elif spec.kind in INCREASING_KINDS:
            directions.append(1)
        else:
            directions.append(0)
    return directions


def fit_l1_logistic(
    X: FloatArray,
    y: npt.NDArray[np.bool_],
    C: float,
    signs: npt.NDArray[np.int8],
    max_iter: int = 1000,
    tol: float = 1e-7,
    sample_weight: FloatArray | None = None,
    l1_ratio: float = 1.0,
) -> tuple[FloatArray, float, int]:
    """Minimise ``r * ||w||_1 + (1 - r) / 2 * ||w||_2^2 + C * sum(weight * logloss)``
    (``r = l1_ratio``: 1 is the lasso, below 1 the elastic net) with ``sign(w_j)`` in
    {0, signs_j} where ``signs_j != 0``. Returns (coef, intercept, iterations).

    Variables are ``w = u - v`` with ``u, v >= 0`` (v fixed at 0 for a +1 column, u for a
    -1 column), so the penalty ``sum(u + v)`` is linear and L-BFGS-B solves it exactly.
    The objective is divided by the total weight to keep its scale independent of n.
    """
    n, p = X.shape
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    total = float(weight.sum())
    target = np.where(y, 1.0, -1.0)
    alpha = 1.0 / (C * total)
    lasso, ridge = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    rate = float(np.clip(np.average(y, weights=weight), 1e-6, 1 - 1e-6))
    start = np.zeros(2 * p + 1)
    start[-1] = np.log(rate / (1 - rate))

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        w = theta[:p] - theta[p : 2 * p]
        margin = target * (X @ w + theta[-1])
        loss = -float(weight @ log_expit(margin)) / total
        residual = -weight * target * expit(-margin) / total
        grad_w = X.T @ residual + ridge * w
        grad = np.concatenate([grad_w + lasso, -grad_w + lasso, [residual.sum()]])
        penalty = lasso * float(theta[: 2 * p].sum()) + ridge / 2 * float(w @ w)
        return loss + penalty, grad

    upper_u = [0.0 if s < 0 else None for s in signs]
    upper_v = [0.0 if s > 0 else None for s in signs]
    bounds = [(0.0, u) for u in upper_u] + [(0.0, v) for v in upper_v] + [(None, None)]
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "ftol": tol * 1e-2, "gtol": tol},
    )
    theta = result.x
    coef = theta[:p] - theta[p : 2 * p]
    coef[np.abs(coef) < 1e-12] = 0.0
    return coef, float(theta[-1]), int(result.nit)


class L1Logistic(AdditiveClassifier):
    """L1-penalised logistic regression whose coefficients can be held to a sign.

    Parameters
    ----------
    C : float, default=0.05
        Inverse penalty strength, as in scikit-learn: minimises ``||w||_1 + C * sum(loss)``.
    l1_ratio : float in [0, 1], default=1.0
        1: the lasso; below 1: the elastic net (``l1_ratio`` of the penalty is L1).
    monotone : sequence of {-1, 0, 1} or None, default=None
        Per input column: the coefficient's sign must be this (or zero); 0 or None: free.
    max_iter : int, default=1000
    tol : float, default=1e-7

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (when fit on a DataFrame),
    coef_ : ndarray of shape (1, n_features_in_), intercept_ : ndarray of shape (1,),
    n_iter_ : int, contribution_intercept_ : float.
    """

    def __init__(
        self,
        C: float = 0.05,
        l1_ratio: float = 1.0,
        monotone: Sequence[int] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-7,
    ) -> None:
        self.C = C
        self.l1_ratio = l1_ratio
        self.monotone = monotone
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        X, y = validate_data(self, X, y, dtype=np.float64)
        if not (isinstance(self.C, int | float) and np.isfinite(self.C) and self.C > 0):
            raise ValueError(f"C must be a positive finite number, got {self.C!r}")
        if not (isinstance(self.l1_ratio, int | float) and 0 <= self.l1_ratio <= 1):
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        self.classes_ = check_binary_target(y)
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64)
            if weight.shape != (X.shape[0],):
                raise ValueError("sample_weight: one weight per row")
            if (weight < 0).any() or not weight.sum() > 0:
                raise ValueError("sample_weight: weights must be non-negative, not all zero")
        coef, intercept, iterations = fit_l1_logistic(
            X,
            y == self.classes_[1],
            float(self.C),
            monotone_signs(self.monotone, X.shape[1]),
            self.max_iter,
            self.tol,
            weight,
            float(self.l1_ratio),
        )
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([intercept])
        self.contribution_intercept_ = intercept
        self.n_iter_ = iterations
        return self

    def contributions(self, X: Any) -> FloatArray:
        """``coef_ * x`` per column; with ``contribution_intercept_`` they sum exactly to
        ``decision_function``."""
        contributions: FloatArray = self._validated(X) * self.coef_[0]
        return contributions

    def decision_function(self, X: Any) -> FloatArray:
        scores: FloatArray = self._validated(X) @ self.coef_[0] + self.intercept_[0]
        return scores
