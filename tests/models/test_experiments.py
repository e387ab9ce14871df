"""The harness judges an arm as ``riskflag train`` judges a model: same fit, calibration,
scores and flags on the same test rows; an arm's switches reach the fit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from features.config import load_feature_config, load_policy
from features.contract import CaseHistories, load_case_histories
from features.synth import SynthConfig, generate
from models.experiments import PLAIN, Arm, Matrices, fitted, judge_arm
from models.flagging import load_flagging_policy, load_gate_policy
from models.settings import TrainingSettings, load_training_settings, plan_split
from models.train import Blocks, build_blocks, oracle_of, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[CaseHistories, Blocks, TrainingSettings]:
    folder: Path = tmp_path_factory.mktemp("experiments") / "data"
    generate(SynthConfig(children=3000, seed=41, workers=1), folder)
    histories = load_case_histories(folder)
    settings = dataclasses.replace(
        load_training_settings(), train_dates=12, calibration_dates=2, test_dates=2,
        model={"logistic": {"C": [0.01, 0.25]}},
    )  # fmt: skip
    split = plan_split(settings, histories.exported_at, 180)
    blocks = build_blocks(histories, load_feature_config(), load_policy(), split)
    return histories, blocks, settings


def test_an_arm_is_judged_as_riskflag_train_judges_its_family(
    world: tuple[CaseHistories, Blocks, TrainingSettings],
) -> None:
    histories, blocks, settings = world
    oracle = oracle_of(histories, blocks.test, 180)
    # the logistic: continuous scores (a scorecard's integer points tie, and the two paths
    # add the same points in different orders, so float noise could break ties apart)
    judged = judge_arm(
        Arm("logistic", "logistic"), blocks, Matrices.of(blocks), settings,
        load_flagging_policy(), oracle,
    )  # fmt: skip
    trained = train(
        histories, "logistic", load_feature_config(), load_policy(), load_flagging_policy(),
        load_gate_policy(), settings, blocks=blocks,
    )  # fmt: skip
    ours, theirs = judged.evaluation, trained.evaluation
    assert ours.n == theirs.n
    assert ours.positives == theirs.positives > 0
    assert ours.roc_auc == pytest.approx(theirs.roc_auc, abs=1e-9)
    assert ours.ece == pytest.approx(theirs.ece, abs=1e-9)
    assert ours.policy.flagged == theirs.policy.flagged
    assert ours.policy.positives == theirs.policy.positives
    assert ours.lift_ratio == pytest.approx(theirs.lift_ratio, abs=1e-9)


def test_the_switches_reach_the_fit(world: tuple[CaseHistories, Blocks, TrainingSettings]) -> None:
    _, blocks, settings = world
    matrices = Matrices.of(blocks)
    held, held_params = fitted(Arm("l", "logistic"), blocks, matrices, settings)
    free, _ = fitted(Arm("l", "logistic", constrained=False), blocks, matrices, settings)
    assert held_params["C"] in (0.01, 0.25)  # chosen from the settings' list
    assert held[-1].monotone != free[-1].monotone
    assert not any(free[-1].monotone)
    plain, _ = fitted(Arm("p", PLAIN, {"C": 0.5}), blocks, matrices, settings)
    assert plain[-1].C == 0.5
