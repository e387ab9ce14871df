"""Blocks of a split are built shard by shard; the rows do not depend on the shard count."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import features.table as table_module
from features.config import load_feature_config, load_policy
from features.contract import load_case_histories
from features.synth import SynthConfig, generate
from models.settings import TrainingSettings, plan_split
from models.train import build_blocks

pytestmark = pytest.mark.slow


def test_sharded_blocks_equal_one_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(SynthConfig(children=1500, seed=31, workers=1), tmp_path / "data")
    histories = load_case_histories(tmp_path / "data")
    settings = TrainingSettings(train_dates=3, calibration_dates=1, test_dates=1)
    split = plan_split(settings, histories.exported_at, 180)
    config, policy = load_feature_config(), load_policy()
    whole = build_blocks(histories, config, policy, split, max_train_rows=2000, seed=4)
    monkeypatch.setattr(table_module, "CHILDREN_PER_SHARD", 400)  # 4 shards
    sharded = build_blocks(histories, config, policy, split, max_train_rows=2000, seed=4)
    assert whole.negative_rate == sharded.negative_rate < 1
    for name in ("train", "calibration", "test"):
        ours, theirs = getattr(whole, name), getattr(sharded, name)
        assert ours.height > 0
        assert ours.equals(theirs), name
    positives = whole.train.filter(pl.col(whole.label) == 1).height
    assert positives > 0
