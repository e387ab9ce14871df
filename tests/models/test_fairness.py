"""The per-group audit, checked against fairlearn's MetricFrame."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import polars as pl
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_score

from models.fairness import MISSING, FairnessError, FairnessReport, GroupRow, audit

ATTRIBUTES = ("area", "district", "hukou", "sex", "disability")


def _frame(n: int = 3000, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    probability = rng.beta(1.5, 6, n)
    area: list[str | None] = list(
        rng.choice(["urban", "rural", "suburban"], n, p=[0.55, 0.4, 0.05])
    )
    for i in rng.choice(n, 120, replace=False):
        area[i] = None
    sex: list[bool | None] = [bool(v) for v in rng.integers(0, 2, n)]
    sex[:30] = [None] * 30
    return pl.DataFrame(
        {
            "y": (rng.random(n) < probability).astype(np.int64),
            "probability": probability,
            "flagged": probability > np.quantile(probability, 0.9),
            "area": area,
            "district": pl.Series(rng.choice(["Miyun", "Haidian", "Yanqing"], n)).cast(
                pl.Categorical
            ),
            "hukou": pl.Series(rng.choice(["local", "nonlocal"], n, p=[0.7, 0.3])).cast(
                pl.Enum(["local", "nonlocal", "unknown"])
            ),
            "sex": pl.Series(sex, dtype=pl.Boolean),
            "disability": rng.random(n) < 0.015,
        }
    )


def _groups(frame: pl.DataFrame, attribute: str) -> pd.Series:
    column = frame[attribute]
    if column.dtype == pl.Boolean:
        column = column.replace_strict({True: "true", False: "false"}, return_dtype=pl.String)
    return pd.Series(column.cast(pl.String).fill_null(MISSING).to_list(), name=attribute)


def _metric_frame(frame: pl.DataFrame, attribute: str) -> pd.DataFrame:
    y = frame["y"].to_numpy()
    metrics = MetricFrame(
        metrics={
            "n": count,
            "flag_rate": selection_rate,
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
            "precision": partial(precision_score, zero_division=np.nan),
        },
        y_true=y,
        y_pred=frame["flagged"].to_numpy(),
        sensitive_features=_groups(frame, attribute),
    )
    by_group: pd.DataFrame = metrics.by_group
    extra = pd.DataFrame(
        {"y": y, "p": frame["probability"].to_numpy(), "g": _groups(frame, attribute)}
    ).groupby("g")
    by_group["base_rate"] = extra["y"].mean()
    by_group["mean_probability"] = extra["p"].mean()
    return by_group


def _row(report: FairnessReport, attribute: str, group: str) -> GroupRow:
    (row,) = [r for r in report.rows if (r.attribute, r.group) == (attribute, group)]
    return row


def _same(ours: float | None, theirs: float) -> None:
    if np.isnan(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs)


def test_every_group_metric_matches_fairlearn() -> None:
    frame = _frame()
    report = audit(frame, ATTRIBUTES)
    assert {row.attribute for row in report.rows} == set(ATTRIBUTES)
    for attribute in ATTRIBUTES:
        expected = _metric_frame(frame, attribute)
        rows = [row for row in report.rows if row.attribute == attribute]
        assert sorted(row.group for row in rows) == sorted(expected.index)
        for row in rows:
            theirs = expected.loc[row.group]
            assert row.n == theirs["n"]
            for metric in ("flag_rate", "fpr", "fnr", "precision", "base_rate"):
                _same(getattr(row, metric), theirs[metric])
            assert row.outcome_rate == row.base_rate
            assert row.mean_probability == pytest.approx(theirs["mean_probability"])
            assert row.calibration_ratio == pytest.approx(
                theirs["mean_probability"] / theirs["base_rate"]
            )
            assert row.positives == round(theirs["base_rate"] * row.n)
            assert row.flagged == round(theirs["flag_rate"] * row.n)


def test_disparities_are_fairlearn_values_divided_by_the_reference() -> None:
    frame = _frame()
    report = audit(frame, ATTRIBUTES, reference={"hukou": "nonlocal"})
    assert report.references == {
        "area": "urban",  # the largest group that is not "(missing)"
        "district": report.references["district"],
        "hukou": "nonlocal",
        "sex": report.references["sex"],
        "disability": "false",
    }
    for attribute in ATTRIBUTES:
        expected = _metric_frame(frame, attribute)
        reference = report.references[attribute]
        if attribute != "hukou":
            named = expected.drop(index=MISSING, errors="ignore")["n"]
            assert reference == min(named[named == named.max()].index)
        for row in (row for row in report.rows if row.attribute == attribute):
            assert row.reference == reference
            assert row.is_reference == (row.group == reference)
            for metric in ("flag_rate", "fpr", "fnr", "precision"):
                ratio = expected.loc[row.group, metric] / expected.loc[reference, metric]
                _same(row.disparity(metric).ratio, ratio)


def _two_groups(a_flags: int, b_flags: int, a_n: int = 100, b_n: int = 100) -> pl.DataFrame:
    """Groups a and b, half of each with the outcome; the first ``*_flags`` rows flagged."""

    def group(name: str, n: int, flags: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "y": [i % 2 for i in range(n)],
                "probability": [0.5] * n,
                "flagged": [i < flags for i in range(n)],
                "area": [name] * n,
            }
        )

    return pl.concat([group("a", a_n, a_flags), group("b", b_n, b_flags)])


def test_tolerance_decides_a_violation_and_names_its_counts() -> None:
    frame = _two_groups(a_flags=20, b_flags=10)
    report = audit(frame, ["area"], reference={"area": "a"})
    flag_rate = _row(report, "area", "b").disparity("flag_rate")
    assert flag_rate.ratio == pytest.approx(0.5)
    assert flag_rate.within_tolerance is False
    assert flag_rate.judgement == "outside tolerance"
    assert not report.ok
    described = [v.describe() for v in report.violations()]
    assert "area=b: flag_rate 0.100 vs 0.200 for a (10 of 100 vs 20 of 100), ratio 0.50" in (
        described
    )
    assert "area=b: fpr 0.100 vs 0.200 for a (5 of 50 vs 10 of 50), ratio 0.50" in described
    assert {v.disparity.metric for v in report.violations()} == {"flag_rate", "fpr"}
    assert _row(report, "area", "b").disparity("fnr").within_tolerance is True
    assert _row(report, "area", "a").disparity("flag_rate").within_tolerance is True

    lenient = audit(frame, ["area"], reference={"area": "a"}, tolerance=(0.4, 2.5))
    assert lenient.ok
    assert lenient.violations() == []
    assert report.with_tolerance((0.4, 2.5)) == lenient
    edge = audit(frame, ["area"], reference={"area": "a"}, tolerance=(0.5, 2.0))
    assert edge.ok  # the bounds are inclusive


def test_small_groups_are_too_few_to_judge_not_passes_or_fails() -> None:
    frame = _two_groups(a_flags=20, b_flags=1, a_n=100, b_n=20)
    report = audit(frame, ["area"], min_count=50)
    small = _row(report, "area", "b").disparity("flag_rate")
    assert small.ratio == pytest.approx(0.25)
    assert small.too_few
    assert small.within_tolerance is None
    assert small.judgement == "too few to judge"
    assert report.ok
    judged = audit(frame, ["area"], min_count=20)
    assert not judged.ok
    small_reference = audit(frame, ["area"], reference={"area": "b"}, min_count=50)
    assert _row(small_reference, "area", "a").disparity("flag_rate").within_tolerance is None


def test_undefined_rates_and_ratios_are_none() -> None:
    frame = _two_groups(a_flags=20, b_flags=0)
    report = audit(frame, ["area"], reference={"area": "a"})
    b = _row(report, "area", "b")
    assert b.precision is None
    precision = b.disparity("precision")
    assert (precision.ratio, precision.within_tolerance, precision.judgement) == (
        None,
        None,
        "undefined",
    )
    assert b.disparity("flag_rate").ratio == 0.0
    reversed_report = audit(frame, ["area"], reference={"area": "b"})
    assert _row(reversed_report, "area", "a").disparity("flag_rate").ratio is None
    with pytest.raises(FairnessError, match="no disparity"):
        b.disparity("accuracy")


def test_reference_defaults_to_the_largest_named_group_ties_by_name() -> None:
    areas = [None] * 150 + ["b"] * 100 + ["a"] * 97
    frame = pl.DataFrame(
        {
            "y": [i % 2 for i in range(len(areas))],
            "probability": [0.3] * len(areas),
            "flagged": [i % 3 == 0 for i in range(len(areas))],
            "area": areas,
        }
    )
    report = audit(frame, ["area"])
    counts = {row.group: row.n for row in report.rows}
    assert counts == {MISSING: 150, "b": 100, "a": 97}
    assert [row.group for row in report.rows] == [MISSING, "b", "a"]
    assert report.references["area"] == "b"
    tie = audit(_two_groups(10, 10), ["area"])
    assert tie.references["area"] == "a"
    everything_missing = pl.DataFrame(
        {"y": [0, 1], "probability": [0.2, 0.6], "flagged": [False, True], "area": [None, None]},
        schema_overrides={"area": pl.String},
    )
    assert audit(everything_missing, ["area"]).references["area"] == MISSING


def test_frame_and_dict_views() -> None:
    report = audit(_frame(), ATTRIBUTES)
    table = report.to_frame()
    assert table.height == len(report.rows)
    assert {
        "attribute",
        "group",
        "n",
        "fpr",
        "fpr_disparity",
        "fpr_within_tolerance",
        "precision_judgement",
        "is_reference",
    } <= set(table.columns)
    assert table.filter(pl.col("is_reference"))["attribute"].to_list() == list(ATTRIBUTES)
    as_json = json.loads(json.dumps(report.to_dict()))
    assert len(as_json["rows"]) == len(report.rows)
    assert as_json["references"] == dict(report.references)
    assert as_json["violations"] == [v.describe() for v in report.violations()]
    assert as_json["tolerance"] == [0.8, 1.25]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.floats(0, 1, allow_nan=False),
            st.booleans(),
            st.sampled_from(["x", "y", "z", None]),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_groups_partition_the_rows(rows: list[tuple[int, float, bool, str | None]]) -> None:
    frame = pl.DataFrame(
        rows,
        schema={"y": pl.Int64, "probability": pl.Float64, "flagged": pl.Boolean, "area": pl.String},
        orient="row",
    )
    report = audit(frame, ["area"], min_count=1)
    assert sum(row.n for row in report.rows) == frame.height
    assert sum(row.positives for row in report.rows) == frame["y"].sum()
    assert sum(row.flagged for row in report.rows) == frame["flagged"].sum()
    for row in report.rows:
        assert row.true_positives + row.false_negatives == row.positives
        assert row.true_positives + row.false_positives == row.flagged
        if row.is_reference:
            assert all(d.ratio in (None, 1.0) for d in row.disparities)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop("flagged"), "no column 'flagged'"),
        (lambda f: f.head(0), "no rows"),
        (lambda f: f.with_columns(y=pl.lit(2)), "y: every value must be 0 or 1"),
        (lambda f: f.with_columns(y=pl.lit(None, pl.Int64)), "y: 200 null"),
        (lambda f: f.with_columns(probability=pl.lit(float("nan"))), "probability"),
        (lambda f: f.with_columns(probability=pl.lit(1.5)), "outside"),
        (lambda f: f.with_columns(flagged=pl.lit(1)), "flagged: expected Boolean"),
        (lambda f: f.with_columns(area=pl.lit(3)), "area: expected a String"),
        (
            lambda f: f.with_columns(
                area=pl.when(pl.col("y") == 1).then(None).otherwise(pl.lit(MISSING))
            ),
            "both null values and a group named",
        ),
    ],
)
def test_refuses_frames_it_cannot_audit(
    change: Callable[[pl.DataFrame], pl.DataFrame], message: str
) -> None:
    frame = change(_two_groups(10, 10))
    with pytest.raises(FairnessError, match=message):
        audit(frame, ["area"])


def test_refuses_bad_arguments() -> None:
    frame = _two_groups(10, 10)
    with pytest.raises(FairnessError, match="reference for area: no group 'c'"):
        audit(frame, ["area"], reference={"area": "c"})
    with pytest.raises(FairnessError, match="'district' is not an audited attribute"):
        audit(frame, ["area"], reference={"district": "Miyun"})
    with pytest.raises(FairnessError, match="no column 'district'"):
        audit(frame, ["area", "district"])
    with pytest.raises(FairnessError, match="at least one"):
        audit(frame, [])
    with pytest.raises(FairnessError, match="not one string"):
        audit(frame, "area")
    with pytest.raises(FairnessError, match="tolerance"):
        audit(frame, ["area"], tolerance=(1.2, 1.5))
    with pytest.raises(FairnessError, match="tolerance"):
        audit(frame, ["area"], tolerance=(0.0, 1.25))
    with pytest.raises(FairnessError, match="min_count"):
        audit(frame, ["area"], min_count=0)
    assert audit(frame, ["area"]).ok
