"""Outcome monitoring (issue 22, point 2): once a batch's horizon has passed, its
outcomes equal the evaluation code's on the same rows, with the labels the feature
pipeline gives the date; each group carries intervals and small groups are marked;
before the horizon has passed there is nothing to report."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from features.build import build_features
from features.config import load_feature_config, load_policy
from features.contract import CaseHistories, load_case_histories
from features.synth import SynthConfig, generate
from models.batch import score_batch
from models.flagging import load_flagging_policy, load_gate_policy
from models.outcomes import GROUPS, auc_interval, jeffreys, labels, outcome_report
from models.riskmodel import RiskModel
from models.settings import load_training_settings
from models.train import train

MATURED = date(2025, 3, 1)  # the export ends at 2025-12-31: 180 days have passed
RECENT = date(2025, 12, 1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[CaseHistories, RiskModel]:
    folder = tmp_path_factory.mktemp("outcomes") / "data"
    generate(SynthConfig(children=3000, seed=61, workers=1), folder)
    histories = load_case_histories(folder)
    settings = dataclasses.replace(
        load_training_settings(), train_dates=6, calibration_dates=2, test_dates=2,
        max_train_rows=5000,
    )  # fmt: skip
    result = train(
        histories, "logistic", load_feature_config(), load_policy(),
        load_flagging_policy(), load_gate_policy(), settings,
    )  # fmt: skip
    return histories, result.model


@pytest.mark.slow
def test_a_matured_batch_equals_the_evaluation_on_the_same_rows(
    trained: tuple[CaseHistories, RiskModel],
) -> None:
    histories, model = trained
    scored = score_batch(histories, model, load_flagging_policy(), MATURED)
    report = outcome_report(scored, labels(histories, model, MATURED), MATURED, 180)
    assert report is not None
    # the labels the feature pipeline gives the date, joined by child, independently
    table = build_features(histories, model.config, model.policy, [MATURED]).frame.collect()
    rows = scored.join(table.select("child_id", model.label), on="child_id")
    y = rows[model.label].to_numpy()
    assert report.evaluation.n == rows.height
    assert report.evaluation.positives == int(y.sum())
    assert report.evaluation.roc_auc == pytest.approx(roc_auc_score(y, rows["probability"]))
    caught = int(y[rows["flagged"].to_numpy()].sum())
    assert report.evaluation.policy.positives == caught
    # every group of every attribute, its counts adding up, each interval around its value
    for attribute in GROUPS:
        mine = [g for g in report.groups if g.attribute == attribute]
        assert sum(g.n for g in mine) == rows.height, attribute
        assert sum(g.positives for g in mine) == int(y.sum()), attribute
        for g in mine:
            assert g.small == (g.n < 100 or g.positives < 10)
            for found in (g.auc, g.precision, g.observed_rate):
                if found.value is not None:
                    assert found.low <= found.value <= found.high  # type: ignore[operator]
    assert {g.group for g in report.groups if g.attribute == "disability"} <= {"true", "false"}


@pytest.mark.slow
def test_nothing_to_report_before_the_horizon_has_passed(
    trained: tuple[CaseHistories, RiskModel],
) -> None:
    histories, model = trained
    scored = score_batch(histories, model, load_flagging_policy(), RECENT)
    labelled = labels(histories, model, RECENT)
    assert labelled["label"].null_count() == labelled.height
    assert outcome_report(scored, labelled, RECENT, 180) is None


def test_intervals() -> None:
    none = jeffreys(0, 10)
    assert (none.value, none.low) == (0.0, 0.0)
    assert 0 < none.high < 0.25  # type: ignore[operator]
    assert jeffreys(0, 0).value is None
    rng = np.random.default_rng(7)
    wide = auc_interval(*_ranked(rng, 60))
    narrow = auc_interval(*_ranked(rng, 6000))
    assert (wide.high - wide.low) > (narrow.high - narrow.low)  # type: ignore[operator]
    assert auc_interval(np.zeros(5, np.int64), np.arange(5.0)).value is None


def _ranked(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.3).astype(np.int64)
    return y, y * 0.5 + rng.random(n)


def test_rows_without_a_label_are_left_out() -> None:
    scored = pl.DataFrame(
        {"child_id": ["a", "b", "c", "d"], "probability": [0.9, 0.1, 0.8, 0.2],
         "score_1_20": [19, 2, 18, 3], "flagged": [True, False, True, False]}
    )  # fmt: skip
    labelled = pl.DataFrame(
        {"child_id": ["a", "b", "c", "d"], "label": [1, 0, None, 0],
         **{g: ["x"] * 4 for g in GROUPS}}
    )  # fmt: skip
    report = outcome_report(scored, labelled, MATURED, 180)
    assert report is not None
    assert report.evaluation.n == 3
