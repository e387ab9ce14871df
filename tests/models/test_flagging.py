"""Scores 1-20, tiers from policy, and capacity-limited flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.flagging import (
    FlaggingError,
    FlaggingPolicy,
    Ventiles,
    flag,
    load_flagging_policy,
)


def test_ventiles_split_the_training_population_into_twentieths() -> None:
    training = np.arange(1000, dtype=float)
    ventiles = Ventiles.fit(training)
    scores = ventiles.score(training)
    assert scores.min() == 1
    assert scores.max() == 20
    counts = np.bincount(scores, minlength=21)[1:]
    assert (counts == 50).all()
    assert ventiles.score([-1e9, 1e9]).tolist() == [1, 20]


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=200), st.floats(-60, 60))
def test_scores_are_monotone(training: list[float], value: float) -> None:
    ventiles = Ventiles.fit(training)
    low, high = ventiles.score([value, value + 1.0])
    assert 1 <= low <= high <= 20


def test_ventiles_refuse_bad_training_scores() -> None:
    with pytest.raises(FlaggingError):
        Ventiles.fit([])
    with pytest.raises(FlaggingError):
        Ventiles.fit([0.1, float("nan")])


def _batch(n: int, districts: tuple[str, ...] = ("Miyun", "Haidian")) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    probability = rng.random(n)
    return pl.DataFrame(
        {
            "child_id": [f"C{i:03d}" for i in range(n)],
            "as_of": [date(2025, 1, 6)] * n,
            "district": [districts[i % len(districts)] for i in range(n)],
            "probability": probability,
            "score_1_20": np.clip((probability * 20).astype(int) + 1, 1, 20),
        }
    )


def test_tiers_follow_the_policy() -> None:
    frame = flag(_batch(200), FlaggingPolicy())
    tiers = dict(zip(frame["score_1_20"], frame["tier"], strict=True))
    assert tiers.get(10) == "low"
    assert tiers.get(11) == "moderate"
    assert tiers.get(16) == "high"
    assert tiers.get(19) == "urgent"
    custom = flag(_batch(200), FlaggingPolicy(moderate=5, high=8, urgent=20))
    assert set(custom.filter(pl.col("score_1_20") == 19)["tier"]) == {"high"}


def test_at_most_k_per_district_highest_probabilities_first() -> None:
    frame = flag(_batch(400), FlaggingPolicy(per_district=7))
    flagged = frame.filter("flagged")
    assert flagged.group_by("district").len()["len"].to_list() == [7, 7]
    assert set(flagged["tier"]) <= {"high", "urgent"}
    for district in ("Miyun", "Haidian"):
        rows = frame.filter(pl.col("district") == district)
        top = rows.sort("probability", descending=True).head(7)
        assert set(top["child_id"]) == set(rows.filter("flagged")["child_id"])


def test_top_percent_of_the_batch() -> None:
    policy = FlaggingPolicy(capacity="top_percent", top_percent=5.0, flag_from="moderate")
    frame = flag(_batch(400), policy)
    assert frame["flagged"].sum() == 20
    assert (
        frame.filter("flagged")["probability"].min()
        > frame.filter(~pl.col("flagged"))["probability"].max()
    )


def test_nobody_below_the_tier_is_flagged_even_with_spare_capacity() -> None:
    frame = flag(_batch(40), FlaggingPolicy(per_district=1000))
    assert frame.filter("flagged")["score_1_20"].min() >= 16
    assert frame.filter(~pl.col("flagged"))["score_1_20"].max() < 16


def test_policy_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "flagging.toml"
    path.write_text("[flagging]\nper_district = 10\n")
    assert load_flagging_policy(path).per_district == 10
    assert load_flagging_policy().high == 16
    path.write_text("[flagging]\nper_distrct = 10\n")
    with pytest.raises(FlaggingError, match=r"flagging\.per_distrct: unknown key"):
        load_flagging_policy(path)
    path.write_text("[tiers]\nhigh = 30\n")
    with pytest.raises(FlaggingError, match="need 1 < moderate < high < urgent <= 20"):
        load_flagging_policy(path)
    with pytest.raises(FlaggingError, match="not a tier"):
        FlaggingPolicy(flag_from="severe")


@given(
    st.integers(0, 5000),
    st.sampled_from(["per_district", "top_percent"]),
    st.integers(0, 60),
    st.floats(0, 100),
)
def test_the_capacity_rule_is_the_same_on_a_count_and_on_an_expression(
    children: int, capacity: str, per_district: int, top_percent: float
) -> None:
    policy = FlaggingPolicy(
        capacity=capacity,  # type: ignore[arg-type]
        per_district=per_district,
        top_percent=top_percent,
    )
    group = pl.DataFrame({"child_id": [f"C{i}" for i in range(children)]})
    on_expression = group.select(policy.flags_allowed(pl.len())).item()
    allowed = policy.flags_allowed(children)
    assert type(allowed) is int
    assert allowed == on_expression
    # what the service's SQL worked out before the rule had one place
    expected = per_district if capacity == "per_district" else int(children * top_percent / 100)
    assert allowed == expected


@pytest.mark.parametrize(
    "policy",
    [
        FlaggingPolicy(flag_from="low", per_district=13),
        FlaggingPolicy(flag_from="low", capacity="top_percent", top_percent=7.3),
        FlaggingPolicy(flag_from="low", capacity="top_percent", top_percent=100.0),
    ],
)
def test_flag_flags_what_the_policy_allows_in_each_group(policy: FlaggingPolicy) -> None:
    frame = flag(_batch(333, ("Miyun", "Haidian", "Yanqing")), policy)
    assert policy.by_district == (policy.capacity == "per_district")
    groups = frame.group_by("district" if policy.by_district else "as_of").agg(
        pl.len().alias("children"), pl.col("flagged").sum()
    )
    for children, flagged in groups.select("children", "flagged").iter_rows():
        assert flagged == min(children, policy.flags_allowed(children))


def test_a_negative_group_is_refused() -> None:
    with pytest.raises(FlaggingError, match="-1 children"):
        FlaggingPolicy().flags_allowed(-1)
