"""The baseline every risk model must beat: rank children by their number of prior reports.

Before any model, the field ranked children by how often they had already been reported,
and that is still the practice a model has to improve on to be worth its complexity.
``PriorReportsBaseline`` is that practice as a classifier: one column of the matrix (the
count of prior reports, parameter ``column``), transformed as ``z = log1p(max(x, 0))``,
and an unpenalised one-variable logistic regression ``intercept + coef * z``.

Monotonicity is enforced: more prior reports never lower the risk. If the fitted
coefficient comes out negative it is clipped to 0 and the intercept is refit alone (the
log-odds of the positive rate), so the baseline then ranks every child equally instead
of ranking children with fewer reports first. With a positive coefficient the ranking is
exactly the ranking by the count.

It honours the explanation contract of the project's model families:
``contributions(X)`` is zero everywhere except the chosen column, which holds
``coef * z``, and ``contributions(X).sum(axis=1) + contribution_intercept_`` equals
``decision_function(X)``; ``predict_proba`` is the sigmoid of ``decision_function``.
"""

# sklearn's names: X for the input matrix, C for the inverse penalty strength.
# ruff: noqa: N803, N806
from __future__ import annotations

import math
import numbers
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import validate_data

from models.additive import AdditiveClassifier, check_binary_target

FloatArray = npt.NDArray[np.float64]


class PriorReportsBaseline(AdditiveClassifier):
    """Logistic regression on ``log1p(max(prior reports, 0))`` alone, never decreasing.

    Parameters
    ----------
    column : int or str, default=0
        The column holding the count of prior reports: an index, or a feature name when
        fit on a DataFrame (``feature_names_in_``).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels of ``y`` in sorted order; ``classes_[1]`` is the flagged class.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fit on a DataFrame with string column names.
    column_index_ : int
        The index of ``column`` in the input.
    coef_ : float
        Log-odds per unit of ``z``; never negative.
    intercept_ : float
    clipped_ : bool
        True when the fitted coefficient was negative and clipped to 0.
    contribution_intercept_ : float
        Equal to ``intercept_``.

    Notes
    -----
    Its accuracy on sklearn's generic blob data is not "reasonable" by design (it sees one
    clipped column), hence the ``poor_score`` tag.
    """

    def __init__(self, column: int | str = 0) -> None:
        self.column = column

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _column_index(self) -> int:
        column = self.column
        if isinstance(column, str):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError(
                    f"column={column!r} is a name, but X has no feature names: "
                    "fit on a DataFrame or give an int index"
                )
            matches = np.flatnonzero(names == column)
            if matches.shape[0] != 1:
                raise ValueError(f"column={column!r} is not one of the feature names")
            return int(matches[0])
        if isinstance(column, bool) or not isinstance(column, numbers.Integral):
            raise TypeError(f"column must be an int index or a feature name, got {column!r}")
        if not 0 <= int(column) < self.n_features_in_:
            raise ValueError(f"column={column} is out of range for {self.n_features_in_} features")
        return int(column)

    @staticmethod
    def _z(counts: FloatArray) -> FloatArray:
        z: FloatArray = np.log1p(np.maximum(counts, 0.0))
        return z

    def fit(self, X: Any, y: Any) -> Self:
        """Fit ``intercept + coef * log1p(max(x[:, column], 0))``; clip a negative coef."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_ = check_binary_target(y)
        self.column_index_ = self._column_index()
        z = self._z(X[:, self.column_index_])
        positive = y == self.classes_[1]
        model = LogisticRegression(C=math.inf, max_iter=1000)
        model.fit(z.reshape(-1, 1), positive.astype(np.int64))
        coef = float(model.coef_[0, 0])
        intercept = float(model.intercept_[0])
        self.clipped_ = coef < 0
        if self.clipped_:
            rate = float(positive.mean())
            coef, intercept = 0.0, math.log(rate / (1.0 - rate))
        self.coef_ = coef
        self.intercept_ = intercept
        self.contribution_intercept_ = intercept
        return self

    def contributions(self, X: Any) -> FloatArray:
        """Zeros except the chosen column, which holds ``coef_ * z``; (n, n_features_in_)."""
        X = self._validated(X)
        contrib = np.zeros(X.shape, dtype=np.float64)
        contrib[:, self.column_index_] = self.coef_ * self._z(X[:, self.column_index_])
        return contrib

    def decision_function(self, X: Any) -> FloatArray:
        """Log-odds of ``classes_[1]``: ``intercept_ + coef_ * z``."""
        X = self._validated(X)
        scores: FloatArray = self.coef_ * self._z(X[:, self.column_index_]) + self.intercept_
        return scores
