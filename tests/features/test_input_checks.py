"""Input checks (issue 22, point 1): on synthetic data, a clean batch raises nothing on
any of several dates; a silent source, a doubled source, a source recording late and a
column left empty are each caught and named; linkage shares move when the links do."""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest

from features import schema as s
from features.contract import CaseHistories, load_case_histories
from features.input_checks import InputThresholds, check_inputs
from features.synth import SynthConfig, generate
from features.synth.plant import Problem, in_week, plant

DAY = date(2025, 9, 1)
THRESHOLDS = InputThresholds()


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> CaseHistories:
    folder = tmp_path_factory.mktemp("inputs") / "data"
    generate(SynthConfig(children=6000, seed=5, workers=1), folder)
    return load_case_histories(folder)


def _events(histories: CaseHistories) -> pl.DataFrame:
    return histories.events.collect()


def _with(histories: CaseHistories, events: pl.DataFrame) -> CaseHistories:
    return dataclasses.replace(histories, events=events.lazy())


def _problems(histories: CaseHistories, day: date = DAY) -> set[tuple[str, str, str | None]]:
    return {
        (f.check, f.subject, f.problem)
        for f in check_inputs(histories, day, THRESHOLDS)
        if f.problem
    }


@pytest.mark.parametrize("day", [date(2025, 3, 1), date(2025, 6, 1), DAY, date(2025, 12, 1)])
def test_a_clean_batch_raises_nothing(histories: CaseHistories, day: date) -> None:
    found = check_inputs(histories, day, THRESHOLDS)
    assert {f.check for f in found} >= {"volume", "late", "missing"}  # each was judged
    assert not [f for f in found if f.problem]


def _planted(histories: CaseHistories, problem: Problem, source: str) -> CaseHistories:
    return _with(histories, plant(_events(histories), problem, source, DAY))


def test_a_silent_source_is_named(histories: CaseHistories) -> None:
    found = _problems(_planted(histories, Problem.SILENT, "health"))
    assert ("volume", "health", "silent") in found


def test_a_doubled_source_is_named(histories: CaseHistories) -> None:
    doubled = _problems(_planted(histories, Problem.DOUBLED, "health"))
    assert ("volume", "health", "doubled") in doubled
    assert all(check != "volume" or subject.startswith("health") for check, subject, _ in doubled)


def test_a_source_recording_late_is_named(histories: CaseHistories) -> None:
    found = _problems(_planted(histories, Problem.LATE, "welfare"))
    assert found == {("late", "welfare", "late")}


def test_a_column_left_empty_is_named(histories: CaseHistories) -> None:
    assert _problems(_planted(histories, Problem.EMPTIED, "report")) == {
        ("missing", "report.concern severity", "missing")
    }


def test_linkage_shares_move_when_the_links_do(histories: CaseHistories) -> None:
    events = _events(histories)
    links = events.select(
        s.EVENT_ID,
        pl.when(pl.col(s.EVENT_ID).hash(seed=1) % 4 == 0)
        .then(pl.lit("match"))
        .otherwise(pl.lit("id_number"))
        .alias("how"),
    )
    clean = check_inputs(histories, DAY, THRESHOLDS, links)
    assert {f.check for f in clean} >= {"linkage"}
    assert not [f for f in clean if f.problem]
    # the health partner stops sending ID numbers: its records are matched or left single
    lost = links.join(events.select(s.EVENT_ID, s.EVENT_TYPE, s.RECORDED_AT), on=s.EVENT_ID)
    lost = lost.with_columns(
        pl.when(in_week("health", DAY)).then(pl.lit("single")).otherwise(pl.col("how")).alias("how")
    ).select(s.EVENT_ID, "how")
    found = {(f.subject, f.problem) for f in check_inputs(histories, DAY, THRESHOLDS, lost)}
    assert ("health id_number", "linkage") in found
    assert ("health single", "linkage") in found


def test_nothing_to_judge_before_the_data_begins(histories: CaseHistories) -> None:
    assert check_inputs(histories, date(2010, 1, 1), THRESHOLDS) == []
