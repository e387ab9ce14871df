"""Stable child ids: a later run keeps every earlier child's id and logs what changed."""

from __future__ import annotations

import polars as pl

from features.linkage.ids import assign_child_ids


def _clusters(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["source", "record_id", "cluster"], orient="row")


def _previous(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["source", "record_id", "child_id"], orient="row")


def _ids(frame: pl.DataFrame) -> dict[int, str]:
    return dict(frame.select("cluster", "child_id").iter_rows())


def test_first_run_numbers_clusters_in_order() -> None:
    ids, log = assign_child_ids(_clusters([("a", "1", 0), ("a", "2", 0), ("b", "1", 2)]), None)
    assert _ids(ids) == {0: "C000000001", 2: "C000000002"}
    assert log.is_empty()


def test_second_run_keeps_ids_and_numbers_on() -> None:
    previous = _previous([("a", "1", "C000000007"), ("b", "1", "C000000003")])
    # a new record joins child 7; a new child appears
    now = _clusters([("a", "1", 0), ("a", "9", 0), ("b", "1", 2), ("c", "1", 3)])
    ids, log = assign_child_ids(now, previous)
    assert _ids(ids) == {0: "C000000007", 2: "C000000003", 3: "C000000008"}
    assert log.is_empty()


def test_merge_keeps_the_larger_child_and_logs_the_other() -> None:
    previous = _previous(
        [("a", "1", "C000000001"), ("a", "2", "C000000001"), ("b", "1", "C000000002")]
    )
    ids, log = assign_child_ids(_clusters([("a", "1", 0), ("a", "2", 0), ("b", "1", 0)]), previous)
    assert _ids(ids) == {0: "C000000001"}
    assert log.rows() == [("merged", "C000000001", "C000000002", 1)]


def test_split_gives_the_smaller_part_a_new_id_and_logs_it() -> None:
    previous = _previous(
        [("a", "1", "C000000001"), ("a", "2", "C000000001"), ("b", "1", "C000000001")]
    )
    ids, log = assign_child_ids(_clusters([("a", "1", 0), ("a", "2", 0), ("b", "1", 2)]), previous)
    assert _ids(ids) == {0: "C000000001", 2: "C000000002"}
    assert log.rows() == [("split", "C000000002", "C000000001", 1)]


def test_a_child_whose_records_are_gone_is_retired() -> None:
    previous = _previous([("a", "1", "C000000001"), ("z", "1", "C000000002")])
    ids, log = assign_child_ids(_clusters([("a", "1", 0)]), previous)
    assert _ids(ids) == {0: "C000000001"}
    assert log.rows() == [("retired", None, "C000000002", 1)]
