"""Parameters chosen by temporal validation inside the training block (models.tuning)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from models import tuning
from models.families import make_pipeline
from models.family_names import FamilyError
from models.tuning import VALIDATION_DATES, TuningError, candidates, inner_split, tuned_params


def _dates(n: int, step_days: int = 30) -> np.ndarray:
    return np.array([date(2022, 1, 1) + timedelta(days=step_days * i) for i in range(n)],
                    dtype="datetime64[D]")  # fmt: skip


def test_candidates_cross_the_lists_in_order_and_keep_the_rest() -> None:
    grid = candidates({"C": [0.1, 1.0], "max_bins": [5, 8], "placement": "mode"})
    assert grid == [
        {"C": 0.1, "max_bins": 5, "placement": "mode"},
        {"C": 0.1, "max_bins": 8, "placement": "mode"},
        {"C": 1.0, "max_bins": 5, "placement": "mode"},
        {"C": 1.0, "max_bins": 8, "placement": "mode"},
    ]
    assert candidates({"C": 0.05}) == [{"C": 0.05}]
    with pytest.raises(TuningError, match="C: an empty list"):
        candidates({"C": []})


def test_the_inner_split_keeps_the_horizon_between_training_and_validation() -> None:
    dates = _dates(12)
    as_of = np.repeat(dates, 5)
    inner, validate = inner_split(as_of, horizon_days=180)
    assert set(as_of[validate]) == set(dates[-VALIDATION_DATES:])
    first_validation = dates[-VALIDATION_DATES]
    assert (as_of[inner] + np.timedelta64(180, "D") <= first_validation).all()
    assert inner.any()
    assert not (inner & validate).any()
    # the dates between are in neither: their labels reach into the validation dates
    assert not (inner | validate).all()


def test_too_short_a_training_block_is_refused() -> None:
    with pytest.raises(TuningError, match="more than 3 training dates"):
        inner_split(_dates(3), horizon_days=180)
    with pytest.raises(TuningError, match="add training dates"):
        inner_split(_dates(6), horizon_days=180)


def _world(seed: int = 0, n_per_date: int = 800) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One informative column and twenty noise columns over twelve monthly dates."""
    rng = np.random.default_rng(seed)
    as_of = np.repeat(_dates(12), n_per_date)
    matrix = rng.normal(size=(as_of.shape[0], 21))
    y = (rng.random(as_of.shape[0]) < 1 / (1 + np.exp(2.0 - 1.5 * matrix[:, 0]))).astype(np.int8)
    return matrix, y, as_of


def test_the_choice_is_made_on_validation_rows_and_a_useless_candidate_loses() -> None:
    matrix, y, as_of = _world()
    names = [f"x{i}" for i in range(matrix.shape[1])]
    # C = 1e-7 zeroes every coefficient: the model ranks nothing and must not be chosen
    chosen = tuned_params(
        "logistic", {"C": [1e-7, 1.0], "max_iter": 200}, (matrix, y, as_of), 180, names,
        [0] * len(names), 0,
    )  # fmt: skip
    assert chosen == {"C": 1.0, "max_iter": 200}


def test_only_inner_rows_are_fitted_and_only_validation_rows_scored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows whose labels overlap the validation dates are in neither set."""
    matrix, y, as_of = _world(1)
    names = [f"x{i}" for i in range(matrix.shape[1])]
    inner, validate = inner_split(as_of, 180)
    seen: list[tuple[str, int]] = []
    original = tuning.make_pipeline

    def spying(*args: Any, **kwargs: Any) -> Any:
        pipeline = original(*args, **kwargs)
        fit, decide = pipeline.fit, pipeline.decision_function
        pipeline.fit = lambda rows, y: seen.append(("fit", len(rows))) or fit(rows, y)
        pipeline.decision_function = lambda rows: seen.append(("score", len(rows))) or decide(rows)
        return pipeline

    monkeypatch.setattr(tuning, "make_pipeline", spying)
    tuned_params("logistic", {"C": [0.01, 1.0]}, (matrix, y, as_of), 180, names, [0] * 21, 0)
    assert seen == [("fit", inner.sum()), ("score", validate.sum())] * 2
    assert inner.sum() + validate.sum() < len(y)


def test_a_single_outcome_in_the_validation_rows_is_refused() -> None:
    matrix, y, as_of = _world(2)
    _, validate = inner_split(as_of, 180)
    y = y.copy()
    y[validate] = 0
    with pytest.raises(TuningError, match="single outcome"):
        tuned_params("logistic", {"C": [0.1, 1.0]}, (matrix, y, as_of), 180,
                     [f"x{i}" for i in range(21)], [0] * 21, 0)  # fmt: skip


def test_a_list_on_a_short_training_block_names_the_setting_and_the_fix() -> None:
    matrix, y, as_of = _world(3)
    short = as_of <= np.datetime64("2022-04-01")
    with pytest.raises(TuningError, match=r"model.logistic: C lists candidates.*one value instead"):
        tuned_params("logistic", {"C": [0.1, 1.0]}, (matrix[short], y[short], as_of[short]), 180,
                     [f"x{i}" for i in range(21)], [0] * 21, 0)  # fmt: skip


def test_a_pipeline_is_never_made_from_a_list() -> None:
    with pytest.raises(FamilyError, match="a list of candidates is chosen"):
        make_pipeline("logistic", ["a"], {"C": [0.1, 1.0]})
