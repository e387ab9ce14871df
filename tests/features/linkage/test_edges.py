"""Decisions files and the model's edges: what is read, what is refused, and how."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from features.linkage.edges import DecisionsError, decided_edges, match_edges, read_decisions
from features.linkage.policy import LinkagePolicy

RECORDS = pl.DataFrame({"source": ["a", "a", "b"], "record_id": ["1", "2", "1"], "uid": [0, 1, 2]})


def _decisions(tmp_path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    path = tmp_path / "decisions.csv"
    pl.DataFrame(
        rows,
        schema=["source_l", "record_id_l", "source_r", "record_id_r", "decision"],
        orient="row",
    ).write_csv(path)
    return path


def test_a_later_decision_on_a_pair_overrides_an_earlier(tmp_path: Path) -> None:
    path = _decisions(
        tmp_path,
        [
            ("b", "1", "a", "1", "same"),
            ("a", "1", "b", "1", "different"),
            ("a", "1", "a", "2", "unsure"),
        ],
    )
    decided = read_decisions(path, RECORDS).sort("uid_l", "uid_r")
    assert decided.rows() == [(0, 1, "unsure"), (0, 2, "different")]
    same, apart = decided_edges(decided)
    assert same.is_empty()
    assert apart.rows() == [(0, 2)]


def test_record_ids_that_look_like_numbers_stay_text(tmp_path: Path) -> None:
    records = pl.DataFrame({"source": ["a", "b"], "record_id": ["007", "1.50"], "uid": [0, 1]})
    path = _decisions(tmp_path, [("a", "007", "b", "1.50", "same")])
    assert read_decisions(path, records).rows() == [(0, 1, "same")]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a", "1", "b", "1", "maybe")], "row 1: decision 'maybe' is not one of"),
        ([("a", "1", "b", "1", "same"), ("a", "9", "b", "1", "same")], "row 2: names a record"),
    ],
)
def test_a_bad_decision_is_refused_by_row(
    tmp_path: Path, rows: list[tuple[str, str, str, str, str]], message: str
) -> None:
    with pytest.raises(DecisionsError, match=message):
        read_decisions(_decisions(tmp_path, rows), RECORDS)


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("source_l,record_id_l\na,1\n")
    with pytest.raises(DecisionsError, match="missing column 'source_r'"):
        read_decisions(path, RECORDS)


def test_pairs_without_the_childs_own_evidence_are_family_edges() -> None:
    pairs = pl.DataFrame(
        {
            "uid_l": [0, 0, 1],
            "uid_r": [1, 2, 2],
            "match_probability": [0.999, 0.999, 0.5],
            "gamma_name": [-1, 3, 4],
            "gamma_birth_date": [1, -1, 5],
            "gamma_id_number": [-1, -1, 2],
        }
    )
    edges = match_edges(pairs, LinkagePolicy())
    assert edges.select("uid_l", "uid_r", "how").rows() == [(0, 1, "family"), (0, 2, "match")]
    relaxed = match_edges(pairs, LinkagePolicy(own_evidence=False))
    assert relaxed["how"].to_list() == ["match", "match"]
