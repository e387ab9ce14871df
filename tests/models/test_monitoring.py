"""The monitoring policy and the checks of a batch's features and scores (issue 22,
point 3): thresholds come from the policy (a typo or a negative value is an error naming
the key); drift and scores are judged by them; flags per district against the last
batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.drift import Drift
from models.monitoring import (
    DriftThresholds,
    FlagThresholds,
    MonitoringError,
    drift_checks,
    flag_checks,
    load_monitoring_policy,
    score_check,
    summary,
)


def test_the_policy_is_read_over_its_defaults_and_recorded_by_digest(tmp_path: Path) -> None:
    shipped = load_monitoring_policy()
    assert shipped.inputs.min_weekly == 20
    mine = tmp_path / "monitoring.toml"
    mine.write_text("[drift]\nfeature_psi = 0.4\n", encoding="utf-8")
    read = load_monitoring_policy(mine)
    assert read.drift.feature_psi == 0.4
    assert read.inputs == shipped.inputs
    assert read.digest() != shipped.digest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[drift]\nfeature_pis = 0.4\n", "feature_pis"),
        ("[inputs]\nhalved = -1\n", "halved"),
        ("[flags]\nchange = 'a lot'\n", "change"),
        ("[alarms]\nx = 1\n", "alarms"),
    ],
)
def test_a_bad_policy_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "monitoring.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MonitoringError, match=message):
        load_monitoring_policy(path)


def test_drift_is_judged_by_the_policy() -> None:
    found = [Drift("reports", 0.4), Drift("amount", 0.15), Drift("age", 0.01)]
    checks = drift_checks(found, DriftThresholds())
    assert [(c.subject, c.problem) for c in checks] == [
        ("reports", "shifted"),
        ("amount", "moderate"),
        ("age", None),
    ]
    assert summary(checks) == {"drift": {"checked": 3, "problems": 1}}
    assert drift_checks(None, DriftThresholds())[0].problem == "no_reference"


def test_scores_against_the_training_population() -> None:
    rng = np.random.default_rng(1)
    even = rng.integers(1, 21, 20_000).tolist()
    shares = [0.05] * 20
    assert score_check(even, shares, DriftThresholds()).problem is None
    high = [20] * 5_000 + even[:5_000]
    assert score_check(high, shares, DriftThresholds()).problem == "shifted"
    tied = [0.0] * 14 + [0.7, 0.1, 0.05, 0.05, 0.05, 0.05]  # many children tie at 15
    assert (
        score_check([15] * 70 + [16] * 10 + [17, 18, 19, 20] * 5, tied, DriftThresholds()).problem
        is None
    )
    assert score_check(even, (), DriftThresholds()).problem == "no_reference"


def test_flags_per_district_against_the_last_batches() -> None:
    before = [{"Chaoyang": 40, "Haidian": 30, "Yanqing": 2}] * 3
    now = {"Chaoyang": 41, "Haidian": 90, "Yanqing": 3}
    checks = {c.subject: c.problem for c in flag_checks(now, before, FlagThresholds())}
    assert checks == {"Chaoyang": None, "Haidian": "rose"}  # Yanqing: too few to judge
    fell = flag_checks({"Chaoyang": 10}, before, FlagThresholds())
    assert ("Chaoyang", "fell") in {(c.subject, c.problem) for c in fell}
    assert flag_checks(now, [], FlagThresholds()) == []  # a first batch: nothing to judge
