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
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

FloatArray = npt.NDArray[np.float64]


class PriorReportsBaseline(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
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
        tags.classifier_tags.multi_class = False
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
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {y_type}."
            )
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] != 2:
            raise ValueError(
                "needs samples of two classes to learn a risk flag; "
                f"got only one class: {self.classes_}"
            )
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

    def _validated(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        checked: FloatArray = validate_data(self, X, reset=False, dtype=np.float64)
        return checked

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

    def predict_proba(self, X: Any) -> FloatArray:
        """``[1 - p, p]`` with ``p`` the sigmoid of ``decision_function``."""
        check_is_fitted(self)
        scores = self.decision_function(X)
        return np.column_stack([expit(-scores), expit(scores)]).astype(np.float64)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """``classes_[1]`` where ``decision_function > 0``, else ``classes_[0]``."""
        check_is_fitted(self)
        labels: npt.NDArray[Any] = self.classes_[(self.decision_function(X) > 0).astype(int)]
        return labels

    def get_feature_names_out(
        self, input_features: Sequence[str] | None = None
    ) -> npt.NDArray[np.object_]:
        """The input column names (``contributions`` has one column per input)."""
        check_is_fitted(self)
        seen: npt.NDArray[np.object_] | None = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if seen is not None:
                return np.asarray(seen, dtype=object)
            return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        names = np.asarray(list(input_features), dtype=object)
        if seen is not None and not np.array_equal(names, seen):
            raise ValueError("input_features is not equal to feature_names_in_")
        if names.shape[0] != self.n_features_in_:
            raise ValueError(
                f"input_features should have length {self.n_features_in_}, got {names.shape[0]}"
            )
        return names
