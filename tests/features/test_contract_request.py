"""A request's check (``check_tables`` on text frames, the compiled small path first) holds
a posting to exactly what the folder check holds an export to: the same violations, row
by row, for every bad input of the contract tests and for awkward values in every
column, and the same typed tables for valid input."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest

from features import schema as s
from features.contract import (
    CaseHistories,
    ContractError,
    ValidationReport,
    check_tables,
    load,
    load_case_histories,
    small,
    validate_folder,
)
from features.deployment import Deployment
from tests.features.contract_cases import (
    EXPORTED_AT,
    NOW,
    valid_children,
    valid_events,
    write_folder,
)
from tests.features.test_contract import BAD_INPUTS


def _frames(rows: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows as a request's tables: every column text, in the order given."""

    def frame(name: str, default: list[dict[str, Any]]) -> pl.DataFrame:
        table = copy.deepcopy(rows[name]) if name in rows else default
        return pl.DataFrame(table, schema=dict.fromkeys(s.TABLE_COLUMNS[name], pl.String))

    return frame(s.CHILDREN, valid_children()), frame(s.EVENTS, valid_events())


def _exported_at(rows: dict[str, Any]) -> datetime | None:
    text = rows.get("exported_at", EXPORTED_AT)
    return None if text is None else datetime.fromisoformat(text)


def _violations(report: ValidationReport) -> list[tuple[Any, ...]]:
    """Each violation with its table (not file) name, count and samples, in report order."""
    return [
        (Path(r.file).stem, r.column, r.rule, r.description, r.count, r.samples)
        for r in report.violations
    ]


def _full_check(rows: dict[str, Any], deployment: Deployment) -> CaseHistories | ContractError:
    """``check_tables`` without its small path: polars, every rule, on the whole tables."""
    with mock.patch.object(load, "check_small", return_value=None):
        try:
            return check_tables(*_frames(rows), deployment, _exported_at(rows), NOW)
        except ContractError as error:
            return error


def _request_report(
    rows: dict[str, Any], deployment: Deployment | None = None
) -> ValidationReport | None:
    """The request check's report on ``rows`` (None when valid), the same whether the
    small path or polars decides; the small path refuses exactly what polars refuses."""
    deployment = deployment or Deployment()
    full = _full_check(rows, deployment)
    fast = small.check_small(*_frames(rows), deployment, _exported_at(rows), NOW)
    if isinstance(full, ContractError):
        assert fast is None, "the small path passed what the full check refuses"
        with pytest.raises(ContractError) as caught:
            check_tables(*_frames(rows), deployment, _exported_at(rows), NOW)
        assert caught.value.report == full.report
        return full.report
    assert fast is not None, "the small path refused what the full check passes"
    request = check_tables(*_frames(rows), deployment, _exported_at(rows), NOW)
    assert request.children.collect().equals(full.children.collect())
    assert request.events.collect().equals(full.events.collect())
    assert (request.exported_at, request.report) == (full.exported_at, full.report)
    return None


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_every_bad_input_is_refused_by_the_request_check_as_by_the_folder_check(
    tmp_path: Path, name: str, fmt: str
) -> None:
    bad = BAD_INPUTS[name]
    folder = write_folder(tmp_path, fmt=fmt, **copy.deepcopy(bad.rows))
    expected = validate_folder(folder, bad.deployment, now=NOW)
    report = _request_report(bad.rows, bad.deployment)
    assert report is not None
    assert {(r.rule, r.column) for r in report.violations} == {
        (r.rule, r.column) for r in expected.violations
    }
    assert {r.rule for r in report.violations} == bad.rules
    assert _violations(report) == _violations(expected)


def test_a_missing_column_and_a_late_export_are_the_same_problems(tmp_path: Path) -> None:
    events = [{k: v for k, v in row.items() if k != "severity"} for row in valid_events()]
    folder = validate_folder(write_folder(tmp_path / "a", events=events), now=NOW)
    children, _ = _frames({})
    with pytest.raises(ContractError) as caught:
        check_tables(children, pl.DataFrame(events), now=NOW)
    assert [p.replace("events.csv", "events") for p in folder.problems] == list(
        caught.value.report.problems
    )
    late = "2027-01-01T00:00:00"
    folder = validate_folder(write_folder(tmp_path / "b", exported_at=late), now=NOW)
    with pytest.raises(ContractError) as caught:
        check_tables(*_frames({}), exported_at=datetime.fromisoformat(late), now=NOW)
    (expected,) = folder.problems
    (problem,) = caught.value.report.problems
    assert problem.split(": ", 1)[1] == expected.split(": ", 1)[1]


def _through_polars(rows: dict[str, Any]) -> CaseHistories:
    full = _full_check(rows, Deployment())
    assert isinstance(full, CaseHistories)
    return full


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("exported_at", [EXPORTED_AT, None])
def test_valid_rows_give_the_same_histories_on_every_path(
    tmp_path: Path, fmt: str, exported_at: str | None
) -> None:
    rows = {"exported_at": exported_at}
    folder = load_case_histories(write_folder(tmp_path, fmt=fmt, **rows), now=NOW)
    request = check_tables(*_frames(rows), exported_at=_exported_at(rows), now=NOW)
    full = _through_polars(rows)
    for histories in (folder, full):
        assert request.children.collect().equals(histories.children.collect())
        assert request.events.collect().equals(histories.events.collect())
        assert request.exported_at == histories.exported_at
    assert request.report == full.report  # the summary too, on either path
    assert request.children.collect_schema() == s.CHILDREN_SCHEMA
    assert request.events.collect_schema() == s.EVENTS_SCHEMA


def test_a_valid_request_takes_the_small_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> None:
        raise AssertionError("the full check ran")

    monkeypatch.setattr(load, "coerce_table", refuse)
    histories = check_tables(*_frames({}), now=NOW)
    assert histories.report.ok
    assert histories.report.files == {s.CHILDREN: s.CHILDREN, s.EVENTS: s.EVENTS}


def test_empty_tables_give_the_same_histories_on_every_path() -> None:
    rows: dict[str, Any] = {s.CHILDREN: [], s.EVENTS: []}
    request = check_tables(*_frames(rows), exported_at=_exported_at(rows), now=NOW)
    full = _through_polars(rows)
    assert request.children.collect().equals(full.children.collect())
    assert request.events.collect().equals(full.events.collect())
    assert request.report == full.report


# ---- awkward values in every column ------------------------------------------------------
AWKWARD = [
    None,
    "",
    " ",
    "x" * 10_000,
    "\x00",
    "C001\x00",
    "儿童-003",
    "e\u0301",
    "😀",
    "２",
    "２０１５-０３-０１",
    "2015-3-1",
    " 2024-01-01",
    "2024-01-01T00:00:00+08:00",
    "2024-01-01T12",
    "2024-02-30",
    "NaN",
    "-inf",
    "1e400",
    "-0",
    "2.0",
    "99999999999999999999",
]
COLUMNS = [(s.CHILDREN, 0, column) for column in s.CHILDREN_COLUMNS] + [
    (s.EVENTS, row, column) for row in (0, 1, 3) for column in s.EVENTS_COLUMNS
]


@pytest.mark.parametrize(("table", "row", "column"), COLUMNS)
def test_awkward_values_are_judged_alike_in_every_column(
    tmp_path: Path, table: str, row: int, column: str
) -> None:
    for index, value in enumerate(AWKWARD):
        rows = {s.CHILDREN: valid_children(), s.EVENTS: valid_events()}
        rows[table][row][column] = value
        folder = write_folder(tmp_path / str(index), fmt="parquet", **copy.deepcopy(rows))
        expected = validate_folder(folder, now=NOW)
        report = _request_report(rows)
        assert _violations(report or ValidationReport(folder)) == _violations(expected), value
        if report is None:
            loaded = load_case_histories(folder, now=NOW)
            request = check_tables(*_frames(rows), exported_at=_exported_at(rows), now=NOW)
            assert request.events.collect().equals(loaded.events.collect())
            assert request.children.collect().equals(loaded.children.collect())
