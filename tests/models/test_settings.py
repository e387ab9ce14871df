"""Training settings and the promotion/fairness policy: defaults, overrides, errors by name,
and the month-start split planned back from the export."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.flagging import FlaggingError, load_flagging_policy, load_gate_policy
from models.settings import (
    TrainingSettings,
    TrainingSettingsError,
    load_training_settings,
    plan_split,
)


def test_defaults_and_overrides(tmp_path: Path) -> None:
    defaults = load_training_settings()
    assert (defaults.train_dates, defaults.calibration_dates, defaults.test_dates) == (12, 3, 3)
    user = tmp_path / "t.toml"
    user.write_text(
        '[dates]\ntrain_dates = 6\nlast_test = "2025-03-01"\n[model.ebm]\ninteractions = 0\n',
        encoding="utf-8",
    )
    settings = load_training_settings(user)
    assert settings.train_dates == 6
    assert settings.calibration_dates == 3
    assert settings.last_test == date(2025, 3, 1)
    assert settings.model["ebm"] == {"interactions": 0}
    assert settings.to_dict()["dates"]["last_test"] == "2025-03-01"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[dates]\ntrain_datez = 1\n", "dates.train_datez: unknown key"),
        ("[splits]\na = 1\n", "unknown section [splits]"),
        ("[model.forest]\nn = 1\n", "[model.forest]: unknown family"),
        ("[dates]\ntest_dates = 0\n", "dates.test_dates: a positive whole number"),
        ('[dates]\nlast_test = "2025-02-30"\n', "dates.last_test: not a YYYY-MM-DD date"),
        ("[sampling]\nmax_train_rows = -5\n", "sampling.max_train_rows"),
        ("[dates\n", "cannot be read as TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "t.toml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(TrainingSettingsError, match=re.escape(message)):
        load_training_settings(user)


@given(
    train=st.integers(1, 14),
    calibration=st.integers(1, 4),
    test=st.integers(1, 4),
    every=st.integers(1, 3),
    horizon=st.sampled_from([30, 90, 180, 365]),
    export=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
)
def test_planned_blocks_are_month_starts_separated_by_the_horizon(
    train: int, calibration: int, test: int, every: int, horizon: int, export: date
) -> None:
    settings = TrainingSettings(
        train_dates=train, calibration_dates=calibration, test_dates=test, every_months=every
    )
    split = plan_split(settings, datetime(export.year, export.month, export.day), horizon)
    assert (len(split.train), len(split.calibration), len(split.test)) == (train, calibration, test)
    days = split.train + split.calibration + split.test
    assert all(d.day == 1 for d in days)
    assert list(days) == sorted(set(days))
    gap = timedelta(days=horizon)
    assert split.test[-1] + gap <= export  # every test label is known at the export
    assert split.train[-1] + gap <= split.calibration[0]
    assert split.calibration[-1] + gap <= split.test[0]


def test_a_last_test_date_past_the_export_is_refused() -> None:
    settings = TrainingSettings(last_test=date(2025, 12, 1))
    with pytest.raises(TrainingSettingsError, match="runs past the export"):
        plan_split(settings, datetime(2025, 12, 31), 180)


def test_gate_policy_defaults_and_errors(tmp_path: Path) -> None:
    gates = load_gate_policy()
    assert gates.tolerance == (0.8, 1.25)
    assert gates.max_auc_drop == 0.01
    assert "disability" in gates.attributes
    user = tmp_path / "p.toml"
    user.write_text("[fairness]\ntolerance_low = 1.5\n", encoding="utf-8")
    with pytest.raises(FlaggingError, match="tolerance_low"):
        load_gate_policy(user)
    user.write_text("[promotion]\nmax_auc_dropp = 0.1\n", encoding="utf-8")
    with pytest.raises(FlaggingError, match=r"promotion\.max_auc_dropp: unknown key"):
        load_gate_policy(user)
    user.write_text('[fairness]\nattributes = "sex"\n', encoding="utf-8")
    with pytest.raises(FlaggingError, match="a list of attribute names"):
        load_gate_policy(user)
    # one policy file carries tiers, flagging, promotion and fairness
    user.write_text("[tiers]\nurgent = 20\n[promotion]\nmax_auc_drop = 0.02\n", encoding="utf-8")
    assert load_flagging_policy(user).urgent == 20
    assert load_gate_policy(user).max_auc_drop == 0.02
