"""A points scorecard: the fitted counterpart of a Structured Decision Making checklist.

Caseworkers already read risk as a checklist: each item answered adds a few points and
the total decides the level. ``Scorecard`` learns such a checklist from data, so the
model stays something a caseworker can read, check by hand and argue with:

1. every column is cut into at most ``max_bins`` bins at distinct quantiles (a column with
   at most ``max_bins`` distinct values gets one bin per value, a constant column one bin);
2. the bins are step-encoded (one 0/1 column per inner cut, "value reaches this bin"),
   and an L1-penalised logistic regression (inverse strength ``C``; intercept
   unpenalised; models.monotone's solver) chooses which steps matter: L1 on steps merges
   neighbouring bins, and with ``monotone`` (+1/-1 per column) every step of a column
   keeps that sign, so more of a risk-increasing event never takes points away;
3. per column the lowest-coefficient bin is set to 0 points (the shift moves into the
   intercept), so every point is non-negative as on a paper checklist, and coefficients
   become integers: ``round(coef * points_to_double_odds / ln 2)``.

**The rounded model is the model.** ``decision_function`` is computed from the integer
points alone, ``(base_points_ + points total) * ln 2 / points_to_double_odds``, never
from the unrounded coefficients: the points a caseworker reads are exactly what scores,
and ``points_to_double_odds`` more points always mean twice the odds.

Bins are half-open intervals ``[lo, hi)``; the first bin is open below and the last open
above, so a value outside the training range falls into the first or last bin. Missing
values are refused: what a missing answer means must be decided in the features, not
guessed here.

The explanation contract shared by the project's model families: ``contributions(X)``
(log-odds per input column) plus ``contribution_intercept_`` equals
``decision_function(X)``, and ``predict_proba`` is the sigmoid of ``decision_function``.
"""

# sklearn's names: X for the input matrix, C for the inverse penalty strength.
# ruff: noqa: N803, N806
from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted, validate_data

from models.additive import AdditiveClassifier, check_binary_target, monotone_signs
from models.monotone import fit_l1_logistic

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LN2 = math.log(2.0)


def _format_number(value: float) -> str:
    """Shortest text that reads back as the same float: 2.0 -> '2', 0.1 -> '0.1'."""
    return np.format_float_positional(float(value), trim="-")


PLACEMENTS = ("quantile", "mode")


def _bin_edges(
    column: FloatArray, max_bins: int, placement: str = "quantile"
) -> tuple[FloatArray, bool]:
    """Inner cut points of one column, and whether each bin holds a single integer value.

    A value ``x`` falls into bin ``searchsorted(edges, x, side="right")``: bin 0 is
    ``x < edges[0]``, bin k is ``[edges[k-1], edges[k])`` and the last is ``x >= edges[-1]``.
    Edges are training values (``inverted_cdf`` quantiles) above the minimum, so no bin
    is empty on the training data. ``placement``: ``quantile`` cuts all values at equal
    counts (a value held by most rows swallows every cut near it: a count that is 0 for
    85% of rows keeps one bin); ``mode`` gives the most common value a bin of its own and
    cuts the other values at equal counts (``max_bins - 1`` bins), so the rows that differ
    from the mode are told apart.
    """
    distinct, counts = np.unique(column, return_counts=True)
    if distinct.shape[0] <= max_bins:
        integral = bool(np.all(distinct == np.round(distinct)))
        return distinct[1:].astype(np.float64), integral
    if placement == "mode":
        mode = distinct[int(np.argmax(counts))]
        rest = column[column != mode]
        levels = np.arange(1, max_bins - 1) / (max_bins - 1)
        above = distinct[distinct > mode][:1]
        cuts = np.concatenate([np.quantile(rest, levels, method="inverted_cdf"), [mode], above])
    else:
        levels = np.arange(1, max_bins) / max_bins
        cuts = np.quantile(column, levels, method="inverted_cdf")
    cuts = np.unique(cuts)
    return cuts[cuts > distinct[0]].astype(np.float64), False


def _bin_labels(edges: FloatArray, single_integers: bool) -> list[str]:
    """Readable intervals, one per bin: '< 1', '[2, 5)', '= 3', '>= 10' (or 'any')."""
    if edges.shape[0] == 0:
        return ["any"]
    labels = [f"< {_format_number(edges[0])}"]
    for lo, hi in itertools.pairwise(edges):
        if single_integers and hi == lo + 1:
            labels.append(f"= {_format_number(lo)}")
        else:
            labels.append(f"[{_format_number(lo)}, {_format_number(hi)})")
    labels.append(f">= {_format_number(edges[-1])}")
    return labels


class Scorecard(AdditiveClassifier):
    """Binned features, sparse L1 logistic regression, integer points per bin.

    Parameters
    ----------
    max_bins : int, default=5
        Most bins per column (at least 2); with ``placement="mode"``, one more when the
        most common value lies inside the column's range.
    placement : {"quantile", "mode"}, default="quantile"
        Where the cuts go: at equal counts of all values, or the most common value in a
        bin of its own and the others at equal counts (see ``_bin_edges``).
    C : float, default=0.05
        Inverse L1 strength of the logistic regression (liblinear's convention: the
        penalty weighs against the *sum* of the losses). Smaller: fewer non-zero bins.
    points_to_double_odds : float, default=20.0
        Points that double the odds (PDO); more points per unit of log-odds means finer
        rounding.
    max_iter : int, default=1000
        Iterations of the logistic-regression solver.
    random_state : int, RandomState instance or None, default=None
        Passed to the solver (liblinear shuffles coordinates).
    class_weight : dict, "balanced" or None, default=None
        Passed to the logistic regression, keyed by the labels of ``y``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels of ``y`` in sorted order; ``classes_[1]`` is the flagged class.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fit on a DataFrame with string column names.
    bin_edges_ : list of ndarray
        Per column, the inner cut points (``len(points_[j]) - 1`` of them).
    single_value_bins_ : ndarray of bool
        Per column, True when it had at most ``max_bins`` distinct values, all integers,
        so a middle bin ``[v, v+1)`` reads as ``= v`` in ``scorecard_table`` (a
        non-integer input, never seen in training, still scores by ``[v, v+1)``).
    points_ : list of ndarray of int64
        Per column, the points of each bin (non-negative, the lowest 0).
    base_points_ : int
        The intercept in points.
    n_iter_ : int
        Iterations the solver ran.
    contribution_intercept_ : float
        ``base_points_ * ln 2 / points_to_double_odds``.
    """

    def __init__(
        self,
        max_bins: int = 5,
        C: float = 0.05,
        points_to_double_odds: float = 20.0,
        max_iter: int = 1000,
        random_state: int | np.random.RandomState | None = None,
        class_weight: Mapping[Any, float] | str | None = None,
        monotone: Sequence[int] | None = None,
        placement: str = "quantile",
    ) -> None:
        self.max_bins = max_bins
        self.placement = placement
        self.C = C
        self.points_to_double_odds = points_to_double_odds
        self.max_iter = max_iter
        self.random_state = random_state
        self.class_weight = class_weight
        self.monotone = monotone

    def _check_params(self) -> None:
        if isinstance(self.max_bins, bool) or not isinstance(self.max_bins, numbers.Integral):
            raise TypeError(f"max_bins must be an int, got {self.max_bins!r}")
        if self.max_bins < 2:
            raise ValueError(f"max_bins must be at least 2, got {self.max_bins}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        for name in ("C", "points_to_double_odds"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not 0 < value < math.inf:
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")

    def fit(self, X: Any, y: Any) -> Self:
        """Bin, fit the L1 logistic regression on the bins, and round to points."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_ = check_binary_target(y)
        max_bins = int(self.max_bins)
        edges: list[FloatArray] = []
        single: list[bool] = []
        for j in range(X.shape[1]):
            cuts, is_single = _bin_edges(X[:, j], max_bins, self.placement)
            edges.append(cuts)
            single.append(is_single)
        self.bin_edges_ = edges
        self.single_value_bins_ = np.asarray(single, dtype=bool)
        steps = self._steps(self._bins(X))
        signs = np.concatenate(
            [
                np.full(cuts.shape[0], sign, dtype=np.int8)
                for cuts, sign in zip(edges, monotone_signs(self.monotone, X.shape[1]), strict=True)
            ]
        )
        weight = compute_sample_weight(self.class_weight, y) if self.class_weight else None
        coef_steps, intercept, self.n_iter_ = fit_l1_logistic(
            steps, y == self.classes_[1], float(self.C), signs, self.max_iter, 1e-7, weight
        )
        # a bin's coefficient is the sum of the steps up to it (bin 0: none)
        coef = np.concatenate(
            [
                np.concatenate([[0.0], np.cumsum(part)])
                for part in np.split(coef_steps, np.cumsum([c.shape[0] for c in edges])[:-1])
            ]
        )
        scale = float(self.points_to_double_odds) / LN2
        points: list[IntArray] = []
        start = 0
        for cuts in edges:
            column_coef = coef[start : start + cuts.shape[0] + 1]
            start += column_coef.shape[0]
            lowest = float(column_coef.min())
            intercept += lowest
            points.append(np.rint((column_coef - lowest) * scale).astype(np.int64))
        self.points_ = points
        self.base_points_ = int(np.rint(intercept * scale))
        self.contribution_intercept_ = float(
            self.base_points_ * (LN2 / float(self.points_to_double_odds))
        )
        return self

    def _bins(self, X: FloatArray) -> IntArray:
        """Bin index of every value, shape (n, n_features_in_)."""
        out = np.empty(X.shape, dtype=np.int64)
        for j, cuts in enumerate(self.bin_edges_):
            out[:, j] = np.searchsorted(cuts, X[:, j], side="right")
        return out

    def _steps(self, bins: IntArray) -> FloatArray:
        """Step ("thermometer") encoding: one 0/1 column per inner cut, ``bin >= k``; a
        step's coefficient is the change from bin k-1 to bin k, so holding its sign holds
        the column's direction, and L1 on steps merges neighbouring bins."""
        blocks = [
            (bins[:, j : j + 1] >= np.arange(1, cuts.shape[0] + 1)).astype(np.float64)
            for j, cuts in enumerate(self.bin_edges_)
        ]
        return np.hstack(blocks) if blocks else np.zeros((bins.shape[0], 0))

    def points(self, X: Any) -> IntArray:
        """Points of every row in every column, int64 of shape (n, n_features_in_)."""
        bins = self._bins(self._validated(X))
        out = np.empty(bins.shape, dtype=np.int64)
        for j, column_points in enumerate(self.points_):
            out[:, j] = column_points[bins[:, j]]
        return out

    def points_total(self, X: Any) -> IntArray:
        """The checklist total of every row: the sum of its points (without base points)."""
        total: IntArray = self.points(X).sum(axis=1)
        return total

    def decision_function(self, X: Any) -> FloatArray:
        """Log-odds of ``classes_[1]``: ``(base_points_ + points total) * ln 2 / PDO``."""
        check_is_fitted(self)
        total = self.base_points_ + self.points_total(X)
        scores: FloatArray = total.astype(np.float64) * (LN2 / float(self.points_to_double_odds))
        return scores

    def contributions(self, X: Any) -> FloatArray:
        """Log-odds per input column: ``points(X) * ln 2 / PDO``, shape (n, n_features_in_)."""
        contrib: FloatArray = self.points(X).astype(np.float64) * (
            LN2 / float(self.points_to_double_odds)
        )
        return contrib

    def scorecard_table(self, feature_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Rows ``{feature, bin, points}`` of every column with a non-zero point, for display.

        ``feature_names`` (display names, one per input column) default to
        ``get_feature_names_out()``. ``bin`` is a readable interval: ``< 1``, ``[2, 5)``,
        ``= 3`` or ``>= 10``. Every bin of such a column is listed, its 0-point bins
        included; the base points (``base_points_``) are not a row.
        """
        check_is_fitted(self)
        if feature_names is None:
            names = [str(name) for name in self.get_feature_names_out()]
        else:
            names = [str(name) for name in feature_names]
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"feature_names should have length {self.n_features_in_}, got {len(names)}"
                )
        rows: list[dict[str, Any]] = []
        for j, column_points in enumerate(self.points_):
            if not column_points.any():
                continue
            labels = _bin_labels(self.bin_edges_[j], bool(self.single_value_bins_[j]))
            rows.extend(
                {"feature": names[j], "bin": label, "points": int(p)}
                for label, p in zip(labels, column_points, strict=True)
            )
        return rows
