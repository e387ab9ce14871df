"""Ranking, calibration and capacity metrics, checked against sklearn and brute force."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.evaluation import (
    Evaluation,
    EvaluationError,
    evaluate,
    expected_calibration_error,
)

DATES = (date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20))


def _sample(n: int = 2000, seed: int = 7) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    probability = rng.beta(1, 6, n)
    y = (rng.random(n) < probability).astype(int)
    score = np.clip((probability * 40).astype(int) + 1, 1, 20)
    flagged = probability >= np.quantile(probability, 0.97)
    as_of = np.array(DATES, dtype="datetime64[D]")[rng.integers(0, len(DATES), n)]
    return {
        "y": y,
        "probability": probability,
        "score_1_20": score,
        "flagged": flagged,
        "as_of": as_of,
    }


def _reference_ece(y: list[int], probability: list[float], bins: int = 20) -> float:
    """Plain Python: sort ascending (stable), 20 bins whose sizes differ by at most one."""
    order = sorted(range(len(y)), key=lambda i: probability[i])
    size, extra = divmod(len(y), bins)
    total, start = 0.0, 0
    for b in range(bins):
        part = order[start : start + size + (1 if b < extra else 0)]
        start += len(part)
        if part:
            mean_p = sum(probability[i] for i in part) / len(part)
            mean_y = sum(y[i] for i in part) / len(part)
            total += len(part) / len(y) * abs(mean_p - mean_y)
    return total


def test_ranking_and_brier_match_sklearn() -> None:
    data = _sample()
    result = evaluate(**data)
    y, p = data["y"], data["probability"]
    assert result.n == 2000
    assert result.positives == int(y.sum())
    assert result.base_rate == pytest.approx(y.mean())
    assert result.roc_auc == pytest.approx(roc_auc_score(y, p))
    assert result.average_precision == pytest.approx(average_precision_score(y, p))
    assert result.brier == pytest.approx(brier_score_loss(y, p))
    assert result.ece == pytest.approx(_reference_ece(y.tolist(), p.tolist()))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=70
    )
)
def test_ece_matches_a_plain_python_reference(rows: list[tuple[int, float]]) -> None:
    y = [label for label, _ in rows]
    probability = [p for _, p in rows]
    assert expected_calibration_error(y, probability) == pytest.approx(
        _reference_ece(y, probability), abs=1e-12
    )


def test_with_twenty_rows_or_fewer_each_row_is_its_own_bin() -> None:
    y = [0, 1, 0, 1, 1]
    probability = [0.1, 0.9, 0.4, 0.3, 0.8]
    result = evaluate(y, probability, [1, 20, 8, 6, 16], [False] * 5, [DATES[0]] * 5)
    assert result.ece == pytest.approx((0.1 + 0.1 + 0.4 + 0.7 + 0.2) / 5)


def test_calibrated_probabilities_have_small_ece_and_doubled_ones_large() -> None:
    rng = np.random.default_rng(11)
    n = 40_000
    probability = rng.uniform(0, 0.5, n)
    y = (rng.random(n) < probability).astype(int)
    common: dict[str, Any] = {
        "score_1_20": np.ones(n, dtype=int),
        "flagged": np.zeros(n, dtype=bool),
        "as_of": [DATES[0]] * n,
    }
    calibrated = evaluate(y, probability, **common)
    doubled = evaluate(y, probability * 2, **common)
    assert calibrated.ece < 0.015
    assert doubled.ece == pytest.approx(probability.mean(), abs=0.02)
    assert doubled.ece > 0.2
    assert calibrated.roc_auc == pytest.approx(doubled.roc_auc)


@settings(max_examples=50, deadline=None)
@given(st.integers(20, 400), st.integers(0, 10_000))
def test_precision_and_recall_at_k_by_brute_force(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    probability = np.round(rng.random(n), 1)  # many ties
    y = (rng.random(n) < probability).astype(int)
    y[:2] = [0, 1]
    flagged = rng.random(n) < 0.1
    result = evaluate(y, probability, np.ones(n, dtype=int), flagged, [DATES[0]] * n)
    ranked = sorted(range(n), key=lambda i: (-probability[i], i))
    positives = int(y.sum())
    for row, fraction in zip(result.at_k[:3], (0.01, 0.05, 0.10), strict=True):
        k = max(1, math.floor(n * fraction))
        hits = sum(int(y[i]) for i in ranked[:k])
        assert (row.k, row.flagged, row.positives) == (fraction, k, hits)
        assert row.precision == pytest.approx(hits / k)
        assert row.recall == pytest.approx(hits / positives)
    policy = result.at_k[3]
    caught = sum(int(y[i]) for i in range(n) if flagged[i])
    assert policy is result.policy
    assert (policy.name, policy.flagged, policy.positives) == (
        "policy capacity",
        int(flagged.sum()),
        caught,
    )
    assert policy.k == pytest.approx(flagged.sum() / n)
    if flagged.any():
        assert policy.precision == pytest.approx(caught / flagged.sum())
    else:
        assert policy.precision is None
    assert policy.recall == pytest.approx(caught / positives)


def test_top_k_ties_are_broken_by_row_order() -> None:
    n = 200
    y = np.zeros(n, dtype=int)
    y[:2] = 1
    result = evaluate(y, np.full(n, 0.3), np.ones(n, dtype=int), np.zeros(n, bool), [DATES[0]] * n)
    top_1 = result.at_k[0]
    assert (top_1.flagged, top_1.positives, top_1.precision, top_1.recall) == (2, 2, 1.0, 1.0)


def test_by_score_reports_every_score_with_counts() -> None:
    data = _sample()
    data["score_1_20"] = np.where(data["score_1_20"] == 7, 8, data["score_1_20"])
    result = evaluate(**data, capacity_name="10 per district")
    assert [row.score for row in result.by_score] == list(range(1, 21))
    assert sum(row.n for row in result.by_score) == result.n
    assert sum(row.positives for row in result.by_score) == result.positives
    empty = result.by_score[6]
    assert (empty.n, empty.outcome_rate, empty.mean_probability) == (0, None, None)
    mask = data["score_1_20"] == 3
    third = result.by_score[2]
    assert third.n == int(mask.sum())
    assert third.outcome_rate == pytest.approx(data["y"][mask].mean())
    assert third.mean_probability == pytest.approx(data["probability"][mask].mean())
    assert result.policy.name == "10 per district"


def test_by_as_of_matches_sklearn_on_each_date() -> None:
    data = _sample()
    result = evaluate(**data)
    assert [row.as_of for row in result.by_as_of] == [d.isoformat() for d in DATES]
    for row, day in zip(result.by_as_of, DATES, strict=True):
        mask = data["as_of"] == np.datetime64(day)
        y, p = data["y"][mask], data["probability"][mask]
        assert (row.n, row.positives) == (int(mask.sum()), int(y.sum()))
        assert row.base_rate == pytest.approx(y.mean())
        assert row.roc_auc == pytest.approx(roc_auc_score(y, p))
        assert row.average_precision == pytest.approx(average_precision_score(y, p))
        assert row.brier == pytest.approx(brier_score_loss(y, p))
        assert row.ece == pytest.approx(_reference_ece(y.tolist(), p.tolist()))


def test_a_date_with_one_class_has_no_auc_and_dates_may_be_python_dates() -> None:
    y = [0, 1, 0, 0]
    probability = [0.2, 0.7, 0.4, 0.1]
    as_of = [DATES[0], DATES[0], DATES[1], DATES[1]]
    result = evaluate(y, probability, [4, 15, 8, 2], [False, True, False, False], as_of)
    second = result.by_as_of[1]
    assert (second.as_of, second.n, second.positives) == ("2025-01-13", 2, 0)
    assert second.roc_auc is None
    assert second.average_precision is None
    assert second.brier == pytest.approx((0.4**2 + 0.1**2) / 2)
    again = evaluate(
        y,
        probability,
        [4, 15, 8, 2],
        [False, True, False, False],
        np.array(as_of, dtype="datetime64[D]"),
    )
    assert again == result


def test_lift_ratio_is_the_share_of_the_oracle_s_ranking() -> None:
    data = _sample()
    rng = np.random.default_rng(5)
    oracle = data["probability"] + rng.normal(0, 0.02, data["y"].size)
    result = evaluate(**data, oracle=oracle)
    oracle_auc = roc_auc_score(data["y"], oracle)
    assert result.oracle_auc == pytest.approx(oracle_auc)
    assert result.lift_ratio == pytest.approx((result.roc_auc - 0.5) / (oracle_auc - 0.5))
    perfect = evaluate(**data, oracle=data["y"].astype(float))
    assert perfect.oracle_auc == 1.0
    assert perfect.lift_ratio == pytest.approx(2 * (perfect.roc_auc - 0.5))
    useless = evaluate(**data, oracle=np.zeros(data["y"].size))
    assert useless.oracle_auc == 0.5
    assert useless.lift_ratio is None
    plain = evaluate(**data)
    assert (plain.oracle_auc, plain.lift_ratio) == (None, None)


def test_headline_is_flat_and_to_dict_is_json() -> None:
    data = _sample()
    with_oracle = evaluate(**data, oracle=data["probability"])
    headline = with_oracle.headline()
    rates = [
        f"{m}_at_{s}" for s in ("1pct", "5pct", "10pct", "policy") for m in ("precision", "recall")
    ]
    assert set(headline) == {
        "base_rate",
        "roc_auc",
        "average_precision",
        "brier",
        "ece",
        "oracle_auc",
        "lift_ratio",
        *rates,
    }
    assert all(type(value) is float for value in headline.values())
    assert headline["precision_at_5pct"] == with_oracle.at_k[1].precision
    assert headline["recall_at_policy"] == with_oracle.policy.recall
    assert headline["lift_ratio"] == pytest.approx(1.0)
    as_json = json.loads(json.dumps(with_oracle.to_dict()))
    assert as_json["roc_auc"] == with_oracle.roc_auc
    assert as_json["by_as_of"][0]["as_of"] == "2025-01-06"
    assert len(as_json["by_score"]) == 20
    assert as_json["at_k"][3]["name"] == "policy capacity"

    data["flagged"] = np.zeros(data["y"].size, dtype=bool)
    nothing = evaluate(**data).headline()
    assert "precision_at_policy" not in nothing
    assert nothing["recall_at_policy"] == 0.0
    assert "oracle_auc" not in nothing
    assert "lift_ratio" not in nothing


def _inputs(**changes: object) -> dict[str, Any]:
    base: dict[str, Any] = {
        "y": [0, 1, 0],
        "probability": [0.1, 0.8, 0.3],
        "score_1_20": [2, 19, 7],
        "flagged": [False, True, False],
        "as_of": [DATES[0]] * 3,
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"y": [], "probability": [], "score_1_20": [], "flagged": [], "as_of": []}, "empty"),
        ({"probability": [0.1, 0.8]}, "probability: 2 values for 3"),
        ({"as_of": [DATES[0]]}, "as_of: 1 values for 3"),
        ({"probability": [0.1, 1.2, 0.3]}, "outside"),
        ({"probability": [0.1, -0.1, 0.3]}, "outside"),
        ({"probability": [0.1, float("nan"), 0.3]}, "NaN"),
        ({"probability": ["a", "b", "c"]}, "probability"),
        ({"y": [0, 2, 0]}, "y: every value must be 0 or 1"),
        ({"y": [0, 0, 0]}, "single class"),
        ({"y": [1, 1, 1]}, "single class"),
        ({"score_1_20": [0, 19, 7]}, "score_1_20"),
        ({"score_1_20": [2, 21, 7]}, "score_1_20"),
        ({"score_1_20": [2.0, 19.0, 7.0]}, "score_1_20"),
        ({"flagged": [0, 3, 0]}, "flagged"),
        ({"as_of": [DATES[0], None, DATES[0]]}, "as_of"),
        ({"as_of": ["not a date"] * 3}, "as_of"),
        ({"oracle": [0.1, float("nan"), 0.2]}, "oracle"),
        ({"oracle": [0.1, 0.2]}, "oracle"),
        ({"probability": [[0.1, 0.8, 0.3]]}, "one-dimensional"),
    ],
)
def test_refuses_inputs_it_cannot_evaluate(changes: dict[str, object], message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        evaluate(**_inputs(**changes))


def test_the_valid_base_case_of_the_error_table_evaluates() -> None:
    assert isinstance(evaluate(**_inputs()), Evaluation)
