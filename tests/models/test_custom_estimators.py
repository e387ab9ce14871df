"""The scorecard and the prior-reports baseline: sklearn's contract and the explanation one."""

# sklearn's names: X for the input matrix, C for the inverse penalty strength.
# ruff: noqa: N803, N806
from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.baseline import PriorReportsBaseline
from models.scorecard import Scorecard

LN2 = math.log(2.0)


@parametrize_with_checks([Scorecard(), Scorecard(placement="mode"), PriorReportsBaseline()])
def test_sklearn_contract(estimator: BaseEstimator, check: Any) -> None:
    check(estimator)


def _sigmoid(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    with np.errstate(over="ignore"):
        result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return result


def _assert_explanation_contract(model: Any, X: npt.NDArray[np.float64]) -> None:
    contributions = model.contributions(X)
    decision = model.decision_function(X)
    assert contributions.dtype == np.float64
    assert contributions.shape == (X.shape[0], model.n_features_in_)
    assert decision.shape == (X.shape[0],)
    assert isinstance(model.contribution_intercept_, float)
    gap = np.abs(contributions.sum(axis=1) + model.contribution_intercept_ - decision)
    assert gap.max(initial=0.0) <= 1e-9
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], _sigmoid(decision), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    expected = np.where(decision > 0, model.classes_[1], model.classes_[0])
    np.testing.assert_array_equal(model.predict(X), expected)


values = st.one_of(
    st.integers(-3, 6).map(float),
    st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
)
label_pairs = st.sampled_from([(0, 1), (-1, 1), (3, 7), ("no", "yes"), ("kept", "flagged")])


@settings(max_examples=60, deadline=None)
@given(
    X=st.integers(1, 4).flatmap(
        lambda p: hnp.arrays(np.float64, st.tuples(st.integers(4, 60), st.just(p)), elements=values)
    ),
    X_new=hnp.arrays(np.float64, (7, 4), elements=values),
    data=st.data(),
    labels=label_pairs,
    max_bins=st.integers(2, 9),
    C=st.floats(0.01, 20.0),
    pdo=st.floats(1.0, 100.0),
    placement=st.sampled_from(["quantile", "mode"]),
)
def test_contributions_add_up_to_the_decision_function(
    X: npt.NDArray[np.float64],
    X_new: npt.NDArray[np.float64],
    data: st.DataObject,
    labels: tuple[Any, Any],
    max_bins: int,
    C: float,
    pdo: float,
    placement: str,
) -> None:
    n, p = X.shape
    positive = data.draw(hnp.arrays(np.bool_, n))
    positive[:2] = [False, True]
    y = np.where(positive, labels[1], labels[0])
    column = data.draw(st.integers(0, p - 1))
    for model in (
        Scorecard(
            max_bins=max_bins, C=C, points_to_double_odds=pdo, placement=placement, random_state=0
        ).fit(X, y),
        PriorReportsBaseline(column=column).fit(X, y),
    ):
        np.testing.assert_array_equal(model.classes_, sorted(labels))
        _assert_explanation_contract(model, X)
        _assert_explanation_contract(model, X_new[:, :p] * 1e3)


def _monotone_data(seed: int, n: int = 6000) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """Three columns; only the middle one (standard normal) drives the log-odds."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.poisson(2.0, n), rng.normal(size=n), rng.uniform(0, 10, n)])
    y = rng.random(n) < _sigmoid(-1.0 + 1.2 * X[:, 1])
    return X.astype(np.float64), y


def _fitted_card(seed: int = 0) -> tuple[Scorecard, npt.NDArray[np.float64]]:
    X, y = _monotone_data(seed, n=3000)
    return Scorecard(C=0.03, max_bins=8, random_state=0).fit(X, y), X


def test_points_are_integers_and_are_what_scores() -> None:
    card, X = _fitted_card()
    points = card.points(X)
    assert points.dtype == np.int64
    assert points.shape == X.shape
    assert isinstance(card.base_points_, int)
    assert all(column.dtype == np.int64 for column in card.points_)
    assert all(column.min() == 0 for column in card.points_)
    np.testing.assert_array_equal(card.points_total(X), points.sum(axis=1))
    decision = (card.base_points_ + card.points_total(X)) * LN2 / card.points_to_double_odds
    np.testing.assert_allclose(card.decision_function(X), decision, rtol=0, atol=1e-12)


def test_rounding_to_points_keeps_the_card_calibrated_in_the_large() -> None:
    X, y = _monotone_data(0, n=3000)
    for card in (Scorecard(random_state=0), Scorecard(C=0.03, max_bins=8, random_state=0)):
        card.fit(X, y)
        assert card.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=0.01)
    # no bin selected: the card predicts the training rate
    empty = Scorecard(C=1e-3).fit(X, y)
    assert not any(points.any() for points in empty.points_)
    base_rate_points = math.log(y.mean() / (1 - y.mean())) * empty.points_to_double_odds / LN2
    assert abs(empty.base_points_ - base_rate_points) <= 1


def _holds(label: str, x: float) -> bool:
    """Whether ``x`` lies in a scorecard bin label: '< a', '>= a', '= a' or '[a, b)'."""
    if match := re.fullmatch(r"< (\S+)", label):
        return x < float(match[1])
    if match := re.fullmatch(r">= (\S+)", label):
        return x >= float(match[1])
    if match := re.fullmatch(r"= (\S+)", label):
        return x == float(match[1])
    match = re.fullmatch(r"\[(\S+), (\S+)\)", label)
    assert match is not None, label
    return float(match[1]) <= x < float(match[2])


def test_the_points_table_reads_as_points_of_each_row() -> None:
    card, X = _fitted_card()
    names = ["prior_reports", "risk", "noise"]
    table = card.scorecard_table(names)
    assert {row["feature"] for row in table} == {"risk"}
    rows = X[:: len(X) // 40]
    points = card.points(rows)
    for j, name in enumerate(names):
        bins = [row for row in table if row["feature"] == name]
        for x, got in zip(rows[:, j], points[:, j], strict=True):
            if not bins:
                assert got == 0
                continue
            matching = [row for row in bins if _holds(row["bin"], x)]
            assert len(matching) == 1, (x, bins)
            assert matching[0]["points"] == got


def test_count_columns_read_as_values() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4, size=2000).astype(np.float64)
    y = rng.random(2000) < _sigmoid(-2.0 + counts)
    card = Scorecard(random_state=0).fit(counts.reshape(-1, 1), y)
    table = card.scorecard_table(["prior_reports"])
    assert [row["bin"] for row in table] == ["< 1", "= 1", "= 2", ">= 3"]
    assert [row["points"] for row in table] == sorted(row["points"] for row in table)
    # outside the training range: the first and the last bin
    extremes = card.points(np.array([[-5.0], [40.0]]))[:, 0]
    np.testing.assert_array_equal(extremes, [card.points_[0][0], card.points_[0][-1]])
    # gaps between integer values read as intervals
    sparse = rng.choice([0.0, 2.0, 5.0, 6.0], size=2000)
    y = rng.random(2000) < _sigmoid(-2.0 + 0.5 * sparse)
    card = Scorecard(random_state=0).fit(sparse.reshape(-1, 1), y)
    labels = [row["bin"] for row in card.scorecard_table(["prior_reports"])]
    assert labels == ["< 2", "[2, 5)", "= 5", ">= 6"]
    # a continuous column reads as half-open intervals
    X = np.column_stack([counts, rng.normal(size=2000)])
    y = rng.random(2000) < _sigmoid(2.0 * X[:, 1])
    labels = [row["bin"] for row in Scorecard(random_state=0).fit(X, y).scorecard_table()]
    assert labels[0].startswith("< ")
    assert labels[-1].startswith(">= ")
    assert all(re.fullmatch(r"\[\S+, \S+\)", label) for label in labels[1:-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_scorecard_recovers_a_monotone_effect(seed: int) -> None:
    X, y = _monotone_data(seed)
    train, test = slice(0, 4000), slice(4000, None)
    card = Scorecard(C=0.03, max_bins=8, random_state=0).fit(X[train], y[train])
    informative = card.points_[1]
    assert np.all(np.diff(informative) >= 0), informative
    assert informative[-1] - informative[0] >= 40, informative
    assert not card.points_[0].any()
    assert not card.points_[2].any()
    reference = LogisticRegression(C=math.inf).fit(X[train], y[train])
    auc_card = roc_auc_score(y[test], card.decision_function(X[test]))
    auc_reference = roc_auc_score(y[test], reference.decision_function(X[test]))
    assert auc_card >= auc_reference - 0.02


def _count_data(
    seed: int, slope: float, n: int = 3000
) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """Column 1 is a count of prior reports (some negative from bad input)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(1.5, n) - (rng.random(n) < 0.05)
    X = np.column_stack([rng.normal(size=n), counts]).astype(np.float64)
    y = rng.random(n) < _sigmoid(-1.0 + slope * np.log1p(np.maximum(counts, 0)))
    return X, y


def test_the_baseline_ranks_by_the_count() -> None:
    X, y = _count_data(0, slope=1.0)
    baseline = PriorReportsBaseline(column=1).fit(X, y)
    assert baseline.coef_ > 0
    assert not baseline.clipped_
    counts = np.maximum(X[:, 1], 0)
    order = np.argsort(counts, kind="stable")
    step_in_count = np.sign(np.diff(counts[order]))
    step_in_score = np.sign(np.diff(baseline.decision_function(X)[order]))
    np.testing.assert_array_equal(step_in_score, step_in_count)
    contributions = baseline.contributions(X)
    assert not contributions[:, 0].any()
    np.testing.assert_allclose(
        contributions[:, 1], baseline.coef_ * np.log1p(counts), rtol=1e-12, atol=0
    )


def test_a_negative_relationship_is_clipped_to_no_ranking() -> None:
    X, y = _count_data(1, slope=-1.0)
    unconstrained = LogisticRegression(C=math.inf).fit(np.log1p(np.maximum(X[:, [1]], 0)), y)
    assert unconstrained.coef_[0, 0] < 0
    baseline = PriorReportsBaseline(column=1).fit(X, y)
    assert baseline.clipped_
    assert baseline.coef_ == 0.0
    assert baseline.intercept_ == pytest.approx(math.log(y.mean() / (1 - y.mean())), abs=1e-12)
    assert np.ptp(baseline.decision_function(X)) == 0.0
    assert not baseline.contributions(X).any()


def _frame(seed: int = 0) -> tuple[pd.DataFrame, npt.NDArray[Any]]:
    X, y = _count_data(seed, slope=1.0)
    frame = pd.DataFrame({"age": X[:, 0], "prior_reports": X[:, 1]})
    return frame, np.where(y, "flag", "no flag")


@pytest.mark.parametrize(
    "model",
    [Scorecard(random_state=0), PriorReportsBaseline(column="prior_reports")],
    ids=["scorecard", "baseline"],
)
def test_feature_names_are_kept(model: Any) -> None:
    frame, y = _frame()
    model.fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["age", "prior_reports"])
    np.testing.assert_array_equal(model.get_feature_names_out(), ["age", "prior_reports"])
    with pytest.raises(ValueError, match="input_features"):
        model.get_feature_names_out(["a", "b"])
    expected = model.decision_function(frame)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        on_array = model.decision_function(frame.to_numpy())
    np.testing.assert_array_equal(on_array, expected)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame.rename(columns={"age": "weight"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(frame)


def test_features_unnamed_without_a_frame() -> None:
    frame, y = _frame()
    card = Scorecard(random_state=0).fit(frame.to_numpy(), y)
    assert not hasattr(card, "feature_names_in_")
    np.testing.assert_array_equal(card.get_feature_names_out(), ["x0", "x1"])
    used = {f"x{j}" for j, points in enumerate(card.points_) if points.any()}
    assert used
    assert {row["feature"] for row in card.scorecard_table()} == used


def test_the_baseline_column_by_name() -> None:
    frame, y = _frame()
    by_name = PriorReportsBaseline(column="prior_reports").fit(frame, y)
    by_index = PriorReportsBaseline(column=1).fit(frame.to_numpy(), y)
    assert by_name.column_index_ == 1
    assert by_name.coef_ == by_index.coef_
    with pytest.raises(ValueError, match="not one of the feature names"):
        PriorReportsBaseline(column="reports").fit(frame, y)
    with pytest.raises(ValueError, match="no feature names"):
        PriorReportsBaseline(column="prior_reports").fit(frame.to_numpy(), y)
    with pytest.raises(ValueError, match="out of range"):
        PriorReportsBaseline(column=2).fit(frame.to_numpy(), y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_bins": 1}, "max_bins"),
        ({"C": 0.0}, "C must be"),
        ({"points_to_double_odds": -20.0}, "points_to_double_odds"),
        ({"placement": "median"}, "placement must be one of"),
    ],
)
def test_the_scorecard_refuses_bad_parameters(params: dict[str, Any], message: str) -> None:
    frame, y = _frame()
    with pytest.raises(ValueError, match=message):
        Scorecard(**params).fit(frame, y)


def _zero_inflated(
    seed: int = 3, n: int = 20_000
) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """A count that is 0 for most rows, whose risk keeps rising with every event."""
    rng = np.random.default_rng(seed)
    count = np.where(rng.random(n) < 0.85, 0, rng.geometric(0.3, n)).astype(np.float64)
    y = rng.random(n) < _sigmoid(-3.0 + 0.5 * count)
    return count.reshape(-1, 1), y


def test_quantile_cuts_lose_a_count_that_is_mostly_zero() -> None:
    """The reason for ``placement="mode"``: with 85% zeros, every quantile cut is 0, so
    the quantile card keeps a single bin and cannot tell 1 event from 10."""
    X, y = _zero_inflated()
    quantile = Scorecard(max_bins=5, C=1.0, random_state=0).fit(X, y)
    assert quantile.bin_edges_[0].shape[0] == 0


def test_the_mode_gets_its_own_bin_and_the_rest_are_cut_at_equal_counts() -> None:
    X, y = _zero_inflated()
    card = Scorecard(max_bins=5, C=1.0, placement="mode", random_state=0).fit(X, y)
    edges = card.bin_edges_[0]
    assert edges[0] == 1.0  # zeros alone in bin 0
    assert 3 <= edges.shape[0] <= 4  # the rest in at most max_bins - 1 bins (1 is common)
    bins = np.searchsorted(edges, X[X[:, 0] > 0, 0], side="right")
    shares = np.bincount(bins, minlength=edges.shape[0] + 1)[1:] / bins.shape[0]
    assert shares.min() > 0.05  # no empty or near-empty bin among the rest
    assert np.all(np.diff(card.points_[0]) >= 0)  # more events, never fewer points
    assert (
        roc_auc_score(y, card.decision_function(X))
        > roc_auc_score(
            y, Scorecard(max_bins=5, C=1.0, random_state=0).fit(X, y).decision_function(X)
        )
        + 0.05
    )


def test_a_mode_inside_the_range_is_cut_on_both_sides() -> None:
    """A capped days-since column: most rows sit at the cap (the largest value)."""
    rng = np.random.default_rng(4)
    days = np.where(rng.random(5000) < 0.7, 1095.0, rng.integers(0, 1095, 5000).astype(float))
    y = rng.random(5000) < _sigmoid(-2.0 - days / 500)
    card = Scorecard(max_bins=5, C=1.0, placement="mode", random_state=0).fit(
        days.reshape(-1, 1), y
    )
    edges = card.bin_edges_[0]
    assert edges[-1] == 1095.0  # the cap alone in the last bin
    assert edges.shape[0] == 4
