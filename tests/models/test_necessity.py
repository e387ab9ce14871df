"""Necessity on the record (issue 21, point 7): every feature family has its legal basis
and necessity statement in the policy, training refuses a family without one, the model
card shows them, and the harness reports what each sensitive family buys in AUC and in
flags changed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from features.config import (
    EXCLUDABLE_FAMILIES,
    ConfigError,
    Policy,
    check_necessity,
    load_feature_config,
    load_necessity,
    load_policy,
)
from features.contract import load_case_histories
from features.registry import build_registry
from features.synth import SynthConfig, generate
from models.compare import SENSITIVE, family_value, policy_variants, sensitive_variants
from models.flagging import load_flagging_policy, load_gate_policy
from models.settings import load_training_settings
from models.train import train


def test_every_family_any_policy_can_use_has_a_statement() -> None:
    statements = load_necessity()
    everything = Policy(association=True)
    for config in (
        load_feature_config(),
        load_feature_config(Path("features/extended_features.toml")),
    ):
        families = {spec.family for spec in build_registry(config, everything).specs}
        check_necessity(families, statements)  # raises naming any family without one
    assert set(EXCLUDABLE_FAMILIES) <= set(statements)


def test_a_family_without_a_statement_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hukou, poverty"):
        check_necessity(["welfare", "poverty", "hukou"], {"welfare": load_necessity()["welfare"]})
    bad = tmp_path / "policy.toml"
    bad.write_text('[necessity.welfare]\nbasis = "x"\nwhy = "y"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"necessity\.welfare"):
        load_necessity(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text('[necessity.poverty]\nbasis = " "\nstatement = "s"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"necessity\.poverty\.basis"):
        load_necessity(empty)


def test_mental_health_is_a_family_a_policy_can_exclude() -> None:
    config = load_feature_config()
    kept = {s.family for s in build_registry(config, Policy()).specs}
    assert "mental_health" in kept
    without = build_registry(config, Policy(exclude=("mental_health",))).specs
    assert "mental_health" not in {s.family for s in without}
    assert all("mental" not in s.name for s in without)


@pytest.mark.slow
def test_the_harness_reports_what_each_sensitive_family_buys(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("necessity") / "data"
    generate(SynthConfig(children=2000, seed=43, workers=1), folder)
    histories = load_case_histories(folder)
    settings = dataclasses.replace(
        load_training_settings(), train_dates=6, calibration_dates=2, test_dates=2,
        max_train_rows=5000,
    )  # fmt: skip
    variants = sensitive_variants(load_policy())
    assert set(variants) == {"policy", *(f"without {f}" for f in SENSITIVE if f != "association"),
                             "with association"}  # fmt: skip
    trained = policy_variants(
        histories, "logistic", load_feature_config(), variants,
        load_flagging_policy(), load_gate_policy(), settings,
    )  # fmt: skip
    table = family_value(trained)
    assert set(table["family"]) == set(SENSITIVE)
    for row in table.iter_rows(named=True):
        assert row["auc_bought"] == pytest.approx(row["auc_with"] - row["auc_without"])
        assert 0 <= row["flags_changed"] <= 2 * row["flags"]
    base = next(v for v in trained if v.name == "policy").result
    assert set(base.model.provenance["necessity"]) == {s.family for s in base.model.specs}
    # the model keeps its training population's distributions, for drift (models.drift)
    assert base.model.reference is not None
    assert set(base.model.reference.features) == {s.name for s in base.model.specs}
    with pytest.raises(ConfigError, match="no statement"):  # training refuses, by name
        train(
            histories, "logistic", load_feature_config(), load_policy(),
            load_flagging_policy(), load_gate_policy(), settings, necessity={},
        )  # fmt: skip


@pytest.mark.slow
def test_riskflag_necessity_prints_the_table(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from typer.testing import CliRunner

    from serving.cli import app

    root = tmp_path_factory.mktemp("necessity-cli")
    generate(SynthConfig(children=1500, seed=44, workers=1), root / "data")
    training = root / "training.toml"
    training.write_text(
        "[dates]\ntrain_dates = 4\ncalibration_dates = 2\ntest_dates = 2\n"
        "[sampling]\nmax_train_rows = 4000\n",
        encoding="utf-8",
    )
    out = root / "value.csv"
    done = CliRunner().invoke(
        app,
        ["necessity", "--data", str(root / "data"), "--model", "logistic",
         "--training", str(training), "--out", str(out)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "auc_bought" in done.stdout
    assert "flags_changed" in done.stdout
    assert sorted(pl.read_csv(out)["family"]) == sorted(SENSITIVE)
