"""The sign-bounded L1 logistic solver: the estimator contract, agreement with
scikit-learn's own solver when unconstrained, and the bounds held when constrained."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.monotone import L1Logistic
from models.scorecard import Scorecard


@parametrize_with_checks([L1Logistic(), L1Logistic(l1_ratio=0.5, monotone=None)])
def test_sklearn_estimator_contract(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def _data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    w = np.zeros(p)
    w[: min(p, 4)] = [1.0, -1.0, 0.5, -0.5][: min(p, 4)]
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ w - 2)))).astype(int)
    return x, y


@pytest.mark.parametrize(("c", "l1_ratio"), [(0.05, 1.0), (0.5, 1.0), (0.05, 0.5)])
def test_unconstrained_fit_matches_scikit_learn(c: float, l1_ratio: float) -> None:
    x, y = _data(5000, 12, 1)
    ours = L1Logistic(C=c, l1_ratio=l1_ratio, tol=1e-9).fit(x, y)
    theirs = LogisticRegression(
        C=c, l1_ratio=l1_ratio, solver="saga", max_iter=20_000, tol=1e-10
    ).fit(x, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-4)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=2e-4)


@settings(max_examples=25, deadline=None)
@given(
    signs=st.lists(st.sampled_from([-1, 0, 1]), min_size=6, max_size=6),
    seed=st.integers(0, 10_000),
)
def test_bounds_hold_and_contributions_add_up(signs: list[int], seed: int) -> None:
    x, y = _data(1500, 6, seed)
    model = L1Logistic(C=0.5, monotone=signs).fit(x, y)
    coef = model.coef_[0]
    for sign, value in zip(signs, coef, strict=True):
        assert sign * value >= 0 or sign == 0
    total = model.contributions(x).sum(axis=1) + model.contribution_intercept_
    np.testing.assert_allclose(total, model.decision_function(x), atol=1e-9)


def test_a_binding_bound_costs_fit_but_nothing_else() -> None:
    x, y = _data(5000, 4, 3)
    free = L1Logistic(C=0.5).fit(x, y)
    held = L1Logistic(C=0.5, monotone=[0, 1, 0, 0]).fit(x, y)  # column 1's effect is -1
    assert free.coef_[0, 1] < -0.5
    assert held.coef_[0, 1] == 0.0
    assert held.coef_[0, 0] == pytest.approx(free.coef_[0, 0], abs=0.15)


def test_scorecard_points_follow_the_direction() -> None:
    rng = np.random.default_rng(5)
    counts = rng.poisson(1.5, size=(6000, 2)).astype(float)
    # risk rises with column 0 but dips at 2-3: a free card would give those bins fewer points
    logit = -3 + 0.6 * counts[:, 0] - 0.9 * np.isin(counts[:, 0], [2, 3]) + 0.2 * counts[:, 1]
    y = (rng.random(6000) < 1 / (1 + np.exp(-logit))).astype(int)
    free = Scorecard(C=1.0, max_bins=6).fit(counts, y)
    held = Scorecard(C=1.0, max_bins=6, monotone=[1, 0]).fit(counts, y)
    assert (np.diff(free.points_[0]) < 0).any()
    assert (np.diff(held.points_[0]) >= 0).all()


def test_bad_parameters_are_named() -> None:
    x, y = _data(200, 3, 0)
    with pytest.raises(ValueError, match="monotone: one of -1, 0, 1 per input column"):
        L1Logistic(monotone=[1, 0]).fit(x, y)
    with pytest.raises(ValueError, match="C must be a positive"):
        L1Logistic(C=0).fit(x, y)
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\]"):
        L1Logistic(l1_ratio=2).fit(x, y)
