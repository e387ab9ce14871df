"""The review queue a linkage run writes: each open pair's two records and, per
comparison, the level reached and its weight from the trained model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl

from features.linkage import schema as ls
from features.linkage.model import COMPARISONS
from features.linkage.review import SHOWN, level_weights
from features.linkage.summary import linkage_summary

MODEL = {
    "comparisons": [
        {
            "output_column_name": "sex",
            "comparison_levels": [
                {"label_for_charts": "missing", "is_null_level": True},
                {"label_for_charts": "same", "m_probability": 0.98, "u_probability": 0.49},
                {"label_for_charts": "different", "m_probability": 0.02, "u_probability": 0.51},
            ],
        },
        {
            "output_column_name": "name",
            "comparison_levels": [
                {"label_for_charts": "missing", "is_null_level": True},
                {"label_for_charts": "same name", "m_probability": 0.9, "u_probability": 0.001},
                {"label_for_charts": "nickname", "u_probability": 0.01},  # m never estimated
                {"label_for_charts": "different", "m_probability": 0.1, "u_probability": 0.989},
            ],
        },
    ]
}


def test_levels_are_numbered_as_splink_numbers_gamma() -> None:
    levels = level_weights(MODEL)
    assert levels["sex"][1] == ("same", math.log2(0.98 / 0.49))
    assert levels["sex"][0] == ("different", math.log2(0.02 / 0.51))
    assert levels["sex"][-1] == ("missing", 0.0)
    assert levels["name"][2][0] == "same name"
    assert levels["name"][1] == ("nickname", 0.0)  # a level never estimated weighs nothing
    assert levels["name"][0][1] < 0


def test_each_open_pair_carries_both_records_and_every_comparison(linked: Path) -> None:
    review = pl.read_parquet(linked / ls.REVIEW_FILE)
    assert review.height > 0
    assert review[ls.MATCH_PROBABILITY].is_sorted(descending=True)
    model = level_weights(json.loads((linked / "model.json").read_text(encoding="utf-8")))
    for row in review.head(50).iter_rows(named=True):
        assert row["child_id_l"] != row["child_id_r"]
        for side in ("record_l", "record_r"):
            assert list(json.loads(row[side])) == list(SHOWN)
        fields = json.loads(row["fields"])
        assert [field["comparison"] for field in fields] == list(COMPARISONS)
        for field in fields:
            labels = {label: round(w, 2) for label, w in model[field["comparison"]].values()}
            assert labels[field["level"]] == field["weight"]


def test_the_summary_counts_the_open_pairs(linked: Path) -> None:
    summary = linkage_summary(linked)
    assert summary is not None
    assert summary["review_pairs_open"] == pl.read_parquet(linked / ls.REVIEW_FILE).height


def test_the_demo_prints_what_linkage_did_in_three_lines() -> None:
    from features.linkage.summary import summary_lines

    summary = {
        "records": 1200,
        "children": 400,
        "held_back_children": 3,
        "review_pairs_open": 17,
        "share_by_how": {"id_number": 0.6, "match": 0.3, "single": 0.1},
        "quality_against_truth": {"pairwise_precision": 0.99912, "pairwise_recall": 0.98},
    }
    lines = summary_lines(summary)
    assert lines[0] == "1,200 source records -> 400 children (3 held back); 17 pairs await review"
    assert "by review 0.0%" in lines[1]
    assert "left single 10.0%" in lines[1]
    assert lines[2].endswith("precision 0.9991, recall 0.9800")
    assert len(summary_lines({**summary, "quality_against_truth": None})) == 2
