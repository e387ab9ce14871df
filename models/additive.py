"""The face shared by the project's own additive classifiers (scorecard, baseline, the
sign-bounded logistic): binary targets, validated input, probabilities as the sigmoid
of ``decision_function``, feature names kept. A subclass gives ``fit``,
``decision_function``, ``contributions`` and ``contribution_intercept_``."""

# sklearn's name: X for the input matrix.
# ruff: noqa: N803
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

FloatArray = npt.NDArray[np.float64]


def check_binary_target(y: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The two classes of ``y`` in sorted order; a clear ``ValueError`` otherwise."""
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type != "binary":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}."
        )
    classes: npt.NDArray[Any] = np.unique(y)
    if classes.shape[0] != 2:
        raise ValueError(
            f"needs samples of two classes to learn a risk flag; got only one class: {classes}"
        )
    return classes


def monotone_signs(monotone: Sequence[int] | None, n_features: int) -> npt.NDArray[np.int8]:
    """The per-column directions (-1, 0, 1) of a ``monotone`` parameter; None is all 0."""
    if monotone is None:
        return np.zeros(n_features, dtype=np.int8)
    signs = np.asarray(monotone)
    if signs.shape != (n_features,) or not np.isin(signs, (-1, 0, 1)).all():
        raise ValueError(
            f"monotone: one of -1, 0, 1 per input column ({n_features}), got {signs!r}"
        )
    return signs.astype(np.int8)


class AdditiveClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary classifier whose log-odds is a sum of per-column contributions."""

    classes_: npt.NDArray[Any]
    n_features_in_: int

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def decision_function(self, X: Any) -> FloatArray:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def _validated(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        checked: FloatArray = validate_data(self, X, reset=False, dtype=np.float64)
        return checked

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
        """The input names (``contributions`` has one column per input), checked against
        those seen in ``fit`` (sklearn's convention)."""
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
