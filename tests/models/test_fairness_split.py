"""The fairness audit split (issue 21, point 5): the model alone, judged at promotion with
bootstrap intervals, apart from the capacity policy's effect, accepted once."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from models.fairness import audit
from models.fairness_split import SplitReport, model_flags, split_audit
from models.flagging import (
    FlaggingError,
    FlaggingPolicy,
    PolicyAcceptance,
    acceptance_words,
    flag,
    load_gate_policy,
)
from models.registry import POLICY_GATE, _fairness_gate, _policy_gate, gates_for, use_tracking
from models.tracking import write_fairness

DISTRICTS = np.array(["Big", "Middle", "Small", "Smaller", "Tiny"])
SHARES = np.array([0.45, 0.25, 0.15, 0.1, 0.05])
ATTRIBUTES = ["district", "hukou"]


def _scored(bias: float, children: int = 8000, batches: int = 6, seed: int = 3) -> pl.DataFrame:
    """Children of districts of very unequal size scored by a calibrated model (``bias``
    0) or one with a planted coefficient on nonlocal hukou, flagged under per-district
    capacity (25 per district and batch)."""
    rng = np.random.default_rng(seed)
    district = rng.choice(DISTRICTS, children, p=SHARES)
    hukou = np.where(rng.random(children) < 0.3, "nonlocal", "local")
    frames = []
    for b in range(batches):
        logit = -3.2 + 1.2 * rng.normal(size=children)
        y = (rng.random(children) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        probability = 1 / (1 + np.exp(-(logit + bias * (hukou == "nonlocal"))))
        frames.append(
            pl.DataFrame(
                {
                    "child_id": [f"C{i:05d}" for i in range(children)],
                    "as_of": [date(2025, 1, 1) + timedelta(days=7 * b)] * children,
                    "district": district,
                    "hukou": hukou,
                    "y": y,
                    "probability": probability,
                    "score_1_20": np.full(children, 20, dtype=np.int8),
                }
            )
        )
    return flag(pl.concat(frames), FlaggingPolicy(per_district=25))


def _split(frame: pl.DataFrame) -> SplitReport:
    policy = audit(frame, ATTRIBUTES, min_count=50)
    return split_audit(frame, policy, ATTRIBUTES, min_count=50, resamples=200, seed=0)


def test_a_fair_model_under_per_district_capacity_passes_the_model_audit() -> None:
    report = _split(_scored(bias=0.0))
    assert report.ok, report.violations()
    assert len(report.policy.violations()) > 0  # the capacity rule alone makes disparities
    small = next(g for g in report.groups if g.group == "Tiny")
    big = next(g for g in report.groups if g.group == "Big")
    assert small.flag_rate_policy > 3 * big.flag_rate_policy  # the policy's effect, reported
    assert small.flag_rate_model == pytest.approx(big.flag_rate_model, rel=0.5)


def test_a_planted_bias_on_hukou_fails_the_model_audit() -> None:
    report = _split(_scored(bias=1.0))
    failed = report.violations()
    assert any(v.startswith("hukou=nonlocal: calibration") for v in failed), failed
    assert any(v.startswith("hukou=nonlocal: fpr") for v in failed), failed


def test_the_model_alone_flags_as_many_as_the_policy_per_batch() -> None:
    frame = _scored(bias=0.0, children=3000, batches=3)
    both = (
        frame.with_columns(model_flags(frame))
        .group_by("as_of")
        .agg(pl.col("flagged").sum(), pl.col("flagged_model").sum())
    )
    assert (both["flagged"] == both["flagged_model"]).all()


def test_small_groups_get_wide_intervals_and_are_never_failed_for_their_size() -> None:
    few_children = pl.col("child_id") < "C00008"  # 8 children: 48 rows, under 50
    frame = _scored(bias=0.0).with_columns(
        pl.when(few_children).then(pl.lit("few")).otherwise(pl.col("hukou")).alias("hukou")
    )
    report = _split(frame)
    few = next(g for g in report.groups if g.group == "few")
    assert all(j.judgement in ("too few to judge", "undefined") for j in few.judged)
    local = next(g for g in report.groups if g.group == "local")
    nonlocal_ = next(g for g in report.groups if g.group == "nonlocal")
    width = {g.group: next(j for j in g.judged if j.metric == "fnr") for g in (local, nonlocal_)}
    spread = {k: (j.high or 0) - (j.low or 0) for k, j in width.items()}
    assert spread["nonlocal"] > spread["local"]  # fewer children, a wider interval


def test_the_gates_judge_the_model_and_check_the_policy_was_accepted() -> None:
    assert _fairness_gate({"riskflag.fairness_violations": "0"}, None).passed
    assert not _fairness_gate({"riskflag.fairness_violations": "2"}, None).passed
    assert _fairness_gate({"riskflag.fairness_violations": "2"}, "known, reviewed").passed
    gates = load_gate_policy()
    tags = {"riskflag.policy_disparities": "11", "riskflag.policy_capacity": "per_district:25"}
    assert _policy_gate(tags, gates).passed
    changed = {**tags, "riskflag.policy_capacity": "per_district:40"}
    refused = _policy_gate(changed, gates)
    assert not refused.passed
    assert "per_district:40" in refused.detail
    assert _policy_gate({**changed, "riskflag.policy_disparities": "0"}, gates).passed
    unrecorded = _policy_gate({"riskflag.policy_capacity": "per_district:25"}, gates)
    assert not unrecorded.passed  # trained before the split: no record, not passed blind


def test_gates_for_fails_a_model_violation_and_an_unaccepted_rule(tmp_path: Path) -> None:
    use_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")  # an empty registry: no champion
    tags = {
        "riskflag.family": "scorecard",
        "riskflag.ece": "0.003",
        "riskflag.fairness_violations": "1",
        "riskflag.policy_disparities": "62",
        "riskflag.policy_capacity": "per_district:25",
    }
    gates = load_gate_policy()

    def passed(given: dict[str, str], justification: str | None = None) -> dict[str, bool]:
        version = SimpleNamespace(version="1", tags=given)
        return {g.name: g.passed for g in gates_for(version, gates, justification)}

    assert passed(tags) == {"interpretable": True, "calibration": True, "fairness": False,
                            POLICY_GATE: True, "auc": True}  # fmt: skip
    assert passed(tags, "reviewed: a known gap in the records")["fairness"]
    other_rule = {**tags, "riskflag.fairness_violations": "0",
                  "riskflag.policy_capacity": "per_district:10"}  # fmt: skip
    assert passed(other_rule) == {**passed(tags, "j"), POLICY_GATE: False}


def test_an_acceptance_covers_its_rule_however_spelled() -> None:
    accepted = PolicyAcceptance("top_percent:5", "the board", "2025-09-01", "accepted")
    assert accepted.covers(FlaggingPolicy(capacity="top_percent", top_percent=5).capacity_rule)
    assert not accepted.covers("top_percent:6.0")
    assert not accepted.covers("per_district:5")
    assert not accepted.covers("nonsense")
    words = acceptance_words(accepted, "top_percent:5.0", 3)
    assert "accepted by the board on 2025-09-01" in words
    assert "NOT accepted" in acceptance_words(accepted, "per_district:25", 3)
    assert "NOT accepted" in acceptance_words(None, "per_district:25", 3)


def test_the_reports_put_the_model_first_and_say_whether_the_rule_is_accepted(
    tmp_path: Path,
) -> None:
    frame = _scored(bias=0.0, children=3000, batches=3)
    policy = audit(frame, ATTRIBUTES, min_count=50)
    alone = split_audit(frame, policy, ATTRIBUTES, min_count=50, resamples=50, seed=0)
    result = SimpleNamespace(fairness=policy, fairness_model=alone)
    gates = load_gate_policy()
    summary = write_fairness(result, tmp_path, gates, "per_district:25")  # type: ignore[arg-type]
    text = (tmp_path / "fairness.md").read_text(encoding="utf-8")
    assert text.index("Fairness of the model alone") < text.index("capacity policy's effect")
    assert "its effect was accepted by the division" in text
    assert "staffs every district office" in text  # the statement accepted
    assert "uncertain" in text
    assert "within tolerance" in text
    record = json.loads((tmp_path / "fairness.json").read_text(encoding="utf-8"))
    assert record["model"]["violations"] == []  # both parts
    assert record["rows"]
    assert record["policy_accepted"]["capacity"] == "per_district:25"
    assert "accepted by" in summary
    assert summary.index("model alone") < summary.index("capacity")
    write_fairness(result, tmp_path, gates, "per_district:10")  # type: ignore[arg-type]
    record = json.loads((tmp_path / "fairness.json").read_text(encoding="utf-8"))
    assert record["policy_accepted"] is None  # the page shows no acceptance for this rule
    assert "NOT accepted" in (tmp_path / "fairness.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('capacity = "per_district:25"\non = 2025-09-01\nstatement = "s"', "by"),
        ('capacity = "per_district:25"\nby = "x"\non = "soon"\nstatement = "s"', "on"),
        ('capacity = "all of them"\nby = "x"\non = 2025-09-01\nstatement = "s"', "capacity"),
        ('capacity = "per_district:25"\nby = " "\non = 2025-09-01\nstatement = "s"', "by"),
        ('capacity = "per_district:2.5"\nby = "x"\non = 2025-09-01\nstatement = "s"', "capacity"),
        ('capacity = "per_district:25"\nby = "x"\non = 2025-09-01\nsaid = "s"', "said"),
    ],
)
def test_a_malformed_acceptance_is_refused_by_name(tmp_path: Path, table: str, words: str) -> None:
    path = tmp_path / "flagging.toml"
    path.write_text(f"[fairness.policy_accepted]\n{table}\n", encoding="utf-8")
    with pytest.raises(FlaggingError, match=words):
        load_gate_policy(path)


def test_the_shipped_policy_accepts_its_own_capacity_rule() -> None:
    accepted = load_gate_policy().policy_accepted
    assert isinstance(accepted, PolicyAcceptance)
    assert accepted.capacity == FlaggingPolicy().capacity_rule
