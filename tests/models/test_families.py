"""Model families: exact explanations after calibration, cross-checked against shap and
interpret, feature names kept, calibration undoing negative sampling."""

from __future__ import annotations

import copy
import math

import numpy as np
import polars as pl
import pytest
import shap

from models.design import Column
from models.families import FAMILIES, FamilyError, as_frame, make_pipeline, raw_terms
from models.flagging import FlaggingPolicy, Ventiles
from models.riskmodel import Platt, RiskModel
from models.train import sample_negatives

# a small matrix shaped like a design matrix: counts, a yes/no, a 3-way categorical
COLUMNS = [
    Column("report_concern__count_365d", "report_concern__count_365d"),
    Column("visits", "visits"),
    Column("dibao", "dibao"),
    Column("school=enrolled", "school", category="enrolled"),
    Column("school=dropped_out", "school", category="dropped_out"),
    Column("school=none", "school", category="none"),
    Column("age", "age"),
]
NAMES = [column.name for column in COLUMNS]


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reports = rng.poisson(0.6, n)
    visits = rng.poisson(1.5, n)
    dibao = rng.random(n) < 0.2
    school = rng.choice(3, n, p=[0.8, 0.1, 0.1])
    age = rng.integers(0, 18, n)
    logit = -3.5 + 0.7 * reports + 0.8 * (school == 1) + 0.3 * dibao - 0.04 * age
    logit += 0.4 * (reports > 1) * (school == 1)  # an interaction for the EBM to find
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    onehot = np.eye(3)[school]
    matrix = np.column_stack([reports, visits, dibao, onehot, age]).astype(np.float64)
    return matrix, y


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": _data(6000, 1), "calibration": _data(3000, 2), "test": _data(2000, 3)}


def _fit(family: str, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> RiskModel:
    params = {"ebm": {"interactions": 2, "outer_bags": 2, "max_rounds": 300}}.get(family)
    pipeline = make_pipeline(family, NAMES, params, seed=0)
    x, y = data["train"]
    pipeline.fit(as_frame(x, NAMES), y)
    model = RiskModel(
        family=family,
        pipeline=pipeline,
        columns=COLUMNS,
        specs=(),
        label="y",
        horizon_days=180,
        platt=Platt(1.0, 0.0),
        ventiles=Ventiles((0.0,) * 19),
    )
    if family == "scorecard":
        model.points_to_double_odds = float(pipeline[-1].points_to_double_odds)
    xc, yc = data["calibration"]
    model.platt = Platt.fit(model.raw_log_odds(xc), yc)
    model.ventiles = Ventiles.fit(model.probability(x))
    return model


@pytest.fixture(scope="module")
def models(data: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, RiskModel]:
    return {family: _fit(family, data) for family in FAMILIES}


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "gbm"])
def test_contributions_sum_exactly_to_the_calibrated_log_odds(
    family: str, models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    model = models[family]
    x, _ = data["test"]
    explanation = model.explain(x)
    total = explanation.log_odds.sum(axis=1) + explanation.intercept
    np.testing.assert_allclose(total, model.log_odds(x), rtol=0, atol=1e-9)
    points = explanation.points.sum(axis=1) + explanation.base_points
    expected = model.raw_log_odds(x) * model.points_to_double_odds / math.log(2)
    np.testing.assert_allclose(points, expected, rtol=0, atol=1e-9)
    # a categorical's one-hot columns are one factor
    assert "school" in [factor.name for factor in explanation.factors]
    assert all(factor.name != "school=enrolled" for factor in explanation.factors)


def test_scorecard_points_are_whole_numbers(
    models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    explanation = models["scorecard"].explain(data["test"][0])
    np.testing.assert_allclose(explanation.points, np.round(explanation.points), atol=1e-9)
    assert explanation.base_points == pytest.approx(round(explanation.base_points), abs=1e-9)


def test_gbm_is_explained_by_shap_tree_values_that_add_up(
    models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    model = models["gbm"]
    x, _ = data["test"]
    explanation = model.explain(x)
    total = explanation.log_odds.sum(axis=1) + explanation.intercept
    np.testing.assert_allclose(total, model.log_odds(x), rtol=0, atol=1e-6)


def test_logistic_terms_equal_shap_linear_explainer(
    models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    pipeline = models["logistic"].pipeline
    x_train, _ = data["train"]
    x, _ = data["test"]
    # every step before the regression: the signed log (the default transform), the scaler
    prepare, logistic = pipeline[:-1], pipeline[-1]
    assert "log" in pipeline.named_steps
    background = prepare.transform(as_frame(x_train, NAMES))
    explainer = shap.LinearExplainer(logistic, shap.maskers.Independent(background, 10_000))
    expected = explainer.shap_values(prepare.transform(as_frame(x, NAMES)))
    ours, _ = raw_terms(pipeline, "logistic", as_frame(x, NAMES))
    # shap measures from the background mean, which standardisation puts at 0
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)


def test_ebm_terms_equal_interpret_local_explanations(
    models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    pipeline = models["ebm"].pipeline
    x, _ = data["test"]
    rows = x[:25]
    ours, intercept = raw_terms(pipeline, "ebm", as_frame(rows, NAMES))
    local = pipeline[-1].explain_local(as_frame(rows, NAMES))
    for i in range(len(rows)):
        item = local.data(i)
        by_name = dict(zip(item["names"], item["scores"], strict=True))
        expected = [by_name[name] for name in pipeline[-1].term_names_]
        np.testing.assert_allclose(ours[i], expected, rtol=0, atol=1e-9)
        assert intercept == pytest.approx(item["extra"]["scores"][0], abs=1e-12)
    interactions = [f for f in models["ebm"].factors()[0] if len(f.features) == 2]
    assert interactions, "the EBM kept no pairwise interaction"
    assert all(" & " in factor.name for factor in interactions)


@pytest.mark.parametrize("family", FAMILIES)
def test_pipelines_keep_feature_names(family: str, models: dict[str, RiskModel]) -> None:
    assert list(models[family].pipeline.feature_names_in_) == NAMES


def test_families_rank_better_than_chance_and_the_baseline_uses_reports_only(
    models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    from sklearn.metrics import roc_auc_score

    x, y = data["test"]
    aucs = {family: roc_auc_score(y, model.probability(x)) for family, model in models.items()}
    assert min(aucs.values()) > 0.6, aucs
    explanation = models["baseline"].explain(x)
    used = np.abs(explanation.log_odds).sum(axis=0) > 0
    assert [f.name for f, u in zip(explanation.factors, used, strict=True) if u] == [
        "report_concern__count_365d"
    ]


def test_unknown_family_and_parameter_are_refused_by_name() -> None:
    with pytest.raises(FamilyError, match="unknown model family 'forest'"):
        make_pipeline("forest", NAMES)
    with pytest.raises(FamilyError, match=r"model\.logistic"):
        make_pipeline("logistic", NAMES, {"not_a_parameter": 1})
    with pytest.raises(FamilyError, match="not a design column"):
        make_pipeline("baseline", ["a", "b"])


def test_calibration_on_a_later_block_undoes_negative_sampling(
    data: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    x, y = _data(40_000, 7)
    frame = pl.DataFrame(
        {"y": y, "i": np.arange(len(y)), "as_of": 0, "child_id": [f"C{i}" for i in range(len(y))]}
    )
    rate = 0.2
    sampled = sample_negatives(frame.lazy(), "y", rate, seed=1).collect()
    again = sample_negatives(frame.lazy(), "y", rate, seed=1).collect()
    assert sampled.equals(again)  # deterministic
    assert int(sampled["y"].sum()) == int(y.sum())  # every positive kept
    kept = (sampled.height - y.sum()) / (len(y) - y.sum())
    assert kept == pytest.approx(rate, abs=0.01)
    keep = sampled["i"].to_numpy()
    pipeline = make_pipeline("logistic", NAMES).fit(as_frame(x[keep], NAMES), y[keep])
    raw = np.asarray(pipeline.decision_function(as_frame(x, NAMES)))
    sampled_rate = (1 / (1 + np.exp(-raw))).mean()
    xc, yc = data["calibration"]
    platt = Platt.fit(np.asarray(pipeline.decision_function(as_frame(xc, NAMES))), yc)
    calibrated = (1 / (1 + np.exp(-platt(raw)))).mean()
    assert sampled_rate > 2 * y.mean()  # fitted on sampled negatives: far too high
    assert calibrated == pytest.approx(y.mean(), rel=0.15)


def test_score_gives_probability_score_tier_flag_and_top_factors(
    models: dict[str, RiskModel], data: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    model = copy.copy(models["scorecard"])
    x, _ = data["test"]
    frame = pl.DataFrame(
        {
            "child_id": [f"C{i:05d}" for i in range(len(x))],
            "as_of": [0] * len(x),
            "district": ["Dongcheng", "Xicheng"] * (len(x) // 2),
        }
    )
    model.matrix = lambda _frame: x  # type: ignore[method-assign]  # bypass the registry
    scored = model.score(frame, FlaggingPolicy(per_district=10))
    assert scored.columns[:5] == ["child_id", "as_of", "district", "probability", "score_1_20"]
    assert {"factor_1", "factor_5_log_odds", "factor_5_points", "tier", "flagged"} <= set(
        scored.columns
    )
    np.testing.assert_allclose(scored["probability"].to_numpy(), model.probability(x))
    assert scored["score_1_20"].min() >= 1
    assert scored["score_1_20"].max() <= 20
    assert scored.group_by("district").agg(pl.col("flagged").sum())["flagged"].max() <= 10
    # the top factor has the largest absolute contribution of the row
    explanation = model.explain(x)
    first = scored["factor_1_log_odds"].to_numpy()
    np.testing.assert_allclose(np.abs(first), np.abs(explanation.log_odds).max(axis=1))
