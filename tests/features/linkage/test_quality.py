"""Linkage quality against the truth: counted from cells, checked against pairs by hand."""

from __future__ import annotations

from datetime import date, datetime
from itertools import combinations

import polars as pl

from features.deployment import load_deployment
from features.linkage.quality import linkage_quality


def _links(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["s"] * len(mapping),
            "record_id": list(mapping),
            "child_id": list(mapping.values()),
        }
    )


def _pairs(mapping: dict[str, str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in combinations(sorted(mapping), 2) if mapping[a] == mapping[b]}


def test_pairwise_and_bcubed_by_hand() -> None:
    truth = {"r1": "A", "r2": "A", "r3": "A", "r4": "B", "r5": "B", "r6": "C"}
    linked = {"r1": "x", "r2": "x", "r3": "y", "r4": "y", "r5": "y", "r6": "z"}
    children = pl.DataFrame(
        {
            "child_id": ["A", "B", "C"],
            "birth_date": [date(2024, 6, 1), date(2015, 1, 1), date(2010, 1, 1)],
            "hukou": ["local", "nonlocal", "none"],
            "district": ["Chaoyang", "Yanqing", "Dongcheng"],
        }
    )
    report = linkage_quality(
        _links(linked), _links(truth), children, load_deployment(None), datetime(2025, 1, 1)
    )
    overall = report["overall"]
    true_pairs, linked_pairs = _pairs(truth), _pairs(linked)
    good = len(true_pairs & linked_pairs)
    assert overall["pairwise_precision"] == round(good / len(linked_pairs), 6)
    assert overall["pairwise_recall"] == round(good / len(true_pairs), 6)
    # B-cubed by hand: r1 2/2 r2 2/2 r3 1/3 r4 2/3 r5 2/3 r6 1/1 (precision)
    assert overall["bcubed_precision"] == round((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3 + 1) / 6, 6)
    assert overall["bcubed_recall"] == round((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1 + 1) / 6, 6)
    assert overall["split_share"] == round(1 / 3, 6)  # A is in two linked children
    assert overall["merged_share"] == round(2 / 3, 6)  # A and B share y
    assert report["hukou"]["none"]["pairwise_recall"] == 1.0
    assert report["age_band"]["under 1"]["pairwise_recall"] == round(1 / 3, 6)
    assert set(report["area"]) == {"core", "inner", "outlying"}
