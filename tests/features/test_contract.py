"""Every rule of the data contract, each broken alone, must be caught and named."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
import pytest

from features import schema as s
from features.contract import ContractError, load_case_histories, validate_folder
from features.deployment import Deployment
from tests.features.contract_cases import (
    NOW,
    valid_children,
    valid_events,
    write_folder,
)

# (table, 0-based row, column, new value, rule expected, 1-based row reported)
RULE_CASES: list[tuple[str, int, str, str | None, str]] = [
    ("children", 3, "child_id", None, "child_id.required"),
    ("children", 3, "child_id", "C001", "child_id.unique"),
    ("children", 3, "child_id", "X" * 65, "child_id.max_length"),
    ("children", 3, "birth_date", "2009-13-40", "birth_date.type"),
    ("children", 3, "birth_date", None, "birth_date.required"),
    ("children", 3, "birth_date", "2025-07-01", "birth_date.not_after_export"),
    ("children", 3, "birth_date", "2000-06-29", "birth_date.max_age"),
    ("children", 3, "sex", "X", "sex.allowed"),
    ("children", 3, "sex", None, "sex.allowed"),
    ("children", 3, "district", None, "district.required"),
    ("children", 3, "district", "Pudong", "district.known"),
    ("children", 3, "hukou", "rural", "hukou.allowed"),
    ("children", 3, "ethnicity", "uyghur", "ethnicity.allowed"),
    ("events", 1, "event_id", None, "event_id.required"),
    ("events", 1, "event_id", "E1", "event_id.unique"),
    ("events", 1, "child_id", None, "child_id.required"),
    ("events", 1, "child_id", "C999", "child_id.known"),
    ("events", 3, "event_type", "welfare.case_reopened", "event_type.known"),
    ("events", 3, "event_type", None, "event_type.known"),
    ("events", 3, "occurred_at", "01/04/2024", "occurred_at.type"),
    ("events", 3, "occurred_at", None, "occurred_at.required"),
    ("events", 3, "recorded_at", "2024-04-01T25:00:00", "recorded_at.type"),
    ("events", 3, "recorded_at", None, "recorded_at.required"),
    ("events", 3, "recorded_at", "2024-03-31T23:59:59", "recorded_at.not_before_occurred"),
    ("events", 3, "recorded_at", "2025-06-30T00:00:01", "recorded_at.not_after_export"),
    ("events", 0, "severity", "two", "severity.type"),
    ("events", 0, "severity", "4", "severity.range"),
    ("events", 0, "severity", "0", "severity.range"),
    ("events", 4, "severity", "5", "severity.range"),
    ("events", 3, "severity", "1", "severity.not_used"),
    ("events", 1, "amount", "three", "amount.type"),
    ("events", 1, "amount", "inf", "amount.finite"),
    ("events", 1, "amount", "NaN", "amount.finite"),
    ("events", 1, "amount", "-1", "amount.not_negative"),
    ("events", 3, "amount", "10", "amount.not_used"),
    ("events", 0, "detail", "teacher", "detail.code"),
    ("events", 2, "detail", "school", "detail.code"),
    ("events", 3, "detail", "school", "detail.not_used"),
]


def _broken(table: str, row: int, column: str, value: str | None) -> dict[str, Any]:
    rows = {"children": valid_children(), "events": valid_events()}
    rows[table][row][column] = value
    return {"children": rows["children"], "events": rows["events"]}


# ---- every bad input below, as rows: what any checker of the contract must refuse ----


def _timestamps_after_the_export_date() -> dict[str, Any]:
    events = valid_events()
    events[3]["occurred_at"] = events[3]["recorded_at"] = "2025-07-02"
    return {"events": events}


def _timestamps_after_the_moment_of_validation() -> dict[str, Any]:
    events = valid_events()
    events[3]["occurred_at"] = events[3]["recorded_at"] = "2026-02-01"
    return {"events": events, "exported_at": None}


def _birth_after_the_latest_recorded_at() -> dict[str, Any]:
    children = valid_children()
    children[0]["birth_date"] = "2024-05-04"  # after the latest recorded_at, 2024-05-03
    return {"children": children, "exported_at": None}


def _130_rows_break_one_rule() -> dict[str, Any]:
    events = [{**valid_events()[0], "event_id": f"E{i}", "severity": "9"} for i in range(1, 131)]
    return {"events": events}


def _many_rules_broken_at_once() -> dict[str, Any]:
    children = valid_children()
    children[0]["sex"] = "female"
    events = valid_events()
    events[0]["severity"] = "7"
    events[5]["child_id"] = "nobody"
    return {"children": children, "events": events}


class BadInput(NamedTuple):
    rows: dict[str, Any]  # write_folder's arguments
    rules: set[str]  # the rules it breaks
    deployment: Deployment | None = None


ELSEWHERE = Deployment(districts={"Haidian": "inner", "Dongcheng": "core", "Miyun": "outlying"})

BAD_INPUTS: dict[str, BadInput] = {
    **{
        f"{rule}:{table}[{row}].{column}={value!r:.12}": BadInput(
            _broken(table, row, column, value), {rule}
        )
        for table, row, column, value, rule in RULE_CASES
    },
    "timestamps after the export date": BadInput(
        _timestamps_after_the_export_date(),
        {"occurred_at.not_after_export", "recorded_at.not_after_export"},
    ),
    "timestamps after the moment of validation": BadInput(
        _timestamps_after_the_moment_of_validation(),
        {"occurred_at.not_in_future", "recorded_at.not_in_future"},
    ),
    "birth after the latest recorded_at": BadInput(
        _birth_after_the_latest_recorded_at(), {"birth_date.not_after_export"}
    ),
    "130 rows break one rule": BadInput(_130_rows_break_one_rule(), {"severity.range"}),
    "many rules broken at once": BadInput(
        _many_rules_broken_at_once(), {"sex.allowed", "severity.range", "child_id.known"}
    ),
    "a district the deployment does not know": BadInput({}, {"district.known"}, ELSEWHERE),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_every_bad_input_breaks_the_rules_it_is_listed_with(tmp_path: Path, name: str) -> None:
    bad = BAD_INPUTS[name]
    report = validate_folder(write_folder(tmp_path, **bad.rows), bad.deployment, now=NOW)
    assert _rules(report) == bad.rules, report.format_text()


def _rules(report: Any) -> set[str]:
    return {result.rule for result in report.violations}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_folder_passes(tmp_path: Path, fmt: str) -> None:
    report = validate_folder(write_folder(tmp_path, fmt=fmt), now=NOW)
    assert report.ok, report.format_text()
    assert report.summary is not None
    assert report.summary.children == 4
    assert report.summary.events == 6


@pytest.mark.parametrize(("table", "row", "column", "value", "rule"), RULE_CASES)
def test_each_rule_broken_alone_is_named_with_its_row(
    tmp_path: Path, table: str, row: int, column: str, value: str | None, rule: str
) -> None:
    folder = write_folder(tmp_path, **_broken(table, row, column, value))
    report = validate_folder(folder, now=NOW)
    assert not report.ok
    assert _rules(report) == {rule}, report.format_text()
    (result,) = report.violations
    assert result.file == f"{table}.csv"
    assert result.column == column
    assert result.count == 1
    assert [sample.row for sample in result.samples] == [row + 1]
    assert result.samples[0].value == value
    text = report.format_text()
    assert f"{table}.csv: row {row + 1}: column {column}: rule {rule}" in text


def test_timestamps_after_the_export_date_are_caught(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **_timestamps_after_the_export_date())
    report = validate_folder(folder, now=NOW)
    assert _rules(report) == {"occurred_at.not_after_export", "recorded_at.not_after_export"}


def test_timestamps_after_the_moment_of_validation_are_caught(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **_timestamps_after_the_moment_of_validation())
    report = validate_folder(folder, now=NOW)
    assert _rules(report) == {"occurred_at.not_in_future", "recorded_at.not_in_future"}


def test_without_export_json_the_export_date_is_the_latest_recorded_at(tmp_path: Path) -> None:
    rows = _birth_after_the_latest_recorded_at()
    report = validate_folder(write_folder(tmp_path, **rows), now=NOW)
    assert _rules(report) == {"birth_date.not_after_export"}
    children = rows["children"]
    children[0]["birth_date"] = "2024-05-03"
    report = validate_folder(write_folder(tmp_path, children, exported_at=None), now=NOW)
    assert report.ok
    assert report.summary is not None
    assert report.summary.exported_at == datetime(2024, 5, 3)
    assert report.summary.export_date_source == "latest recorded_at"


def test_export_date_in_the_future_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, exported_at="2027-01-01T00:00:00")
    report = validate_folder(folder, now=NOW)
    assert not report.ok
    assert any("after the moment of validation" in problem for problem in report.problems)


def test_violations_are_capped_at_50_per_rule_with_totals(tmp_path: Path) -> None:
    report = validate_folder(write_folder(tmp_path, **_130_rows_break_one_rule()), now=NOW)
    (result,) = report.violations
    assert result.rule == "severity.range"
    assert result.count == 130
    assert len(result.samples) == 50
    assert [sample.row for sample in result.samples] == list(range(1, 51))
    assert "80 more rows (130 in all, first 50 shown)" in report.format_text()


def test_many_rules_broken_at_once_are_all_reported(tmp_path: Path) -> None:
    report = validate_folder(write_folder(tmp_path, **_many_rules_broken_at_once()), now=NOW)
    assert _rules(report) == {"sex.allowed", "severity.range", "child_id.known"}
    assert report.violation_count == 3


# ---- unreadable input: one clear line each, never a traceback ----------------------


def test_both_csv_and_parquet_is_ambiguous(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    write_folder(tmp_path, fmt="parquet")
    report = validate_folder(folder, now=NOW)
    assert len(report.problems) == 2
    assert "both children.parquet and children.csv exist" in report.problems[0]


def test_missing_table(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "events.csv").unlink()
    report = validate_folder(folder, now=NOW)
    assert report.problems == (
        f"events: missing: expected events.parquet or events.csv in {folder}",
    )


def test_missing_folder(tmp_path: Path) -> None:
    report = validate_folder(tmp_path / "nope", now=NOW)
    assert report.problems == (f"{tmp_path / 'nope'}: no such folder",)


def test_corrupt_parquet(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, fmt="parquet")
    data = (folder / "events.parquet").read_bytes()
    (folder / "events.parquet").write_bytes(data[: len(data) // 2])
    report = validate_folder(folder, now=NOW)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("events.parquet: not a readable parquet file")


def test_non_utf8_csv(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    text = (folder / "children.csv").read_text(encoding="utf-8")
    (folder / "children.csv").write_bytes(text.encode("gb18030"))
    report = validate_folder(folder, now=NOW)
    assert report.problems == (
        "children.csv: cannot be read as CSV: not UTF-8 text (save the file as UTF-8)",
    )


def test_missing_column(tmp_path: Path) -> None:
    events = [{k: v for k, v in row.items() if k != "severity"} for row in valid_events()]
    report = validate_folder(write_folder(tmp_path, events=events), now=NOW)
    assert report.problems == ("events.csv: missing column(s) 'severity'",)


def test_duplicated_column(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    lines = (folder / "children.csv").read_text(encoding="utf-8").splitlines()
    lines = [line + "," + line.split(",")[0] for line in lines]
    (folder / "children.csv").write_text("\n".join(lines), encoding="utf-8")
    report = validate_folder(folder, now=NOW)
    assert report.problems == ("children.csv: column 'child_id' appears more than once",)


def test_empty_file(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "children.csv").write_bytes(b"")
    report = validate_folder(folder, now=NOW)
    assert report.problems == ("children.csv: empty file: a header row is required",)


def test_ragged_csv_row(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    with (folder / "events.csv").open("a", encoding="utf-8") as handle:
        handle.write("E9,C001,health.visit,2024-01-01,2024-01-01,,,,extra,fields\n")
    report = validate_folder(folder, now=NOW)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("events.csv: cannot be read as CSV")


def test_wrong_type_in_parquet(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, fmt="parquet")
    children = pl.read_parquet(folder / "children.parquet")
    children.with_columns(pl.lit(20150301).alias("birth_date")).write_parquet(
        folder / "children.parquet"
    )
    report = validate_folder(folder, now=NOW)
    assert report.problems == (
        "children.parquet: column 'birth_date' has type Int32, expected a date (YYYY-MM-DD)",
    )


@pytest.mark.parametrize(
    "content",
    ["not json", '{"exported": "2025-01-01"}', '{"exported_at": "yesterday"}', "[1, 2]"],
)
def test_bad_export_json(tmp_path: Path, content: str) -> None:
    folder = write_folder(tmp_path)
    (folder / "export.json").write_text(content)
    report = validate_folder(folder, now=NOW)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("export.json: ")


# ---- valid edge cases ----------------------------------------------------------------


def test_typed_parquet_with_pandas_style_columns_is_valid(tmp_path: Path) -> None:
    """Native dates, UTC timestamps, float severities with nulls, as pandas writes them."""
    expected = load_case_histories(write_folder(tmp_path / "csv"), now=NOW)
    events = expected.events.collect().with_columns(
        pl.col("occurred_at").dt.replace_time_zone("Asia/Shanghai").dt.convert_time_zone("UTC"),
        pl.col("severity").cast(pl.Float64),
        pl.col("amount").cast(pl.Float32),
        pl.col("event_type").cast(pl.String).cast(pl.Categorical),
    )
    folder = tmp_path / "parquet"
    folder.mkdir()
    events.write_parquet(folder / "events.parquet")
    expected.children.collect().write_parquet(folder / "children.parquet")
    (folder / "export.json").write_text(json.dumps({"exported_at": "2025-06-30T00:00:00"}))
    loaded = load_case_histories(folder, now=NOW)
    assert loaded.events.collect().equals(expected.events.collect())
    assert loaded.children.collect().equals(expected.children.collect())


def test_fractional_float_severity_in_parquet_is_a_type_violation(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, fmt="parquet")
    events = pl.read_parquet(folder / "events.parquet").with_columns(
        pl.col("severity").cast(pl.Float64)
    )
    events.with_columns(pl.col("severity").replace(2.0, 2.5)).write_parquet(
        folder / "events.parquet"
    )
    report = validate_folder(folder, now=NOW)
    assert _rules(report) == {"severity.type"}


def test_events_file_with_header_only_is_valid(tmp_path: Path) -> None:
    report = validate_folder(write_folder(tmp_path, events=[]), now=NOW)
    assert report.ok, report.format_text()
    assert report.summary is not None
    assert report.summary.events == 0


def test_extra_column_is_accepted_with_a_warning(tmp_path: Path) -> None:
    children = [{**row, "caseworker_note": "x"} for row in valid_children()]
    report = validate_folder(write_folder(tmp_path, children), now=NOW)
    assert report.ok
    assert report.warnings == ("children.csv: unknown column 'caseworker_note' ignored",)


def test_other_files_in_the_folder_are_ignored(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "README.txt").write_text("notes")
    assert validate_folder(folder, now=NOW).ok


def test_configured_districts_replace_beijing(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    report = validate_folder(folder, ELSEWHERE, now=NOW)
    assert _rules(report) == {"district.known"}
    assert report.violations[0].samples[0].value == "Yanqing"


# ---- the loader ------------------------------------------------------------------------


def test_loader_returns_typed_lazy_frames(tmp_path: Path) -> None:
    histories = load_case_histories(write_folder(tmp_path), now=NOW)
    assert isinstance(histories.children, pl.LazyFrame)
    assert histories.children.collect_schema() == s.CHILDREN_SCHEMA
    assert histories.events.collect_schema() == s.EVENTS_SCHEMA
    assert histories.exported_at == datetime(2025, 6, 30)
    children = histories.children.collect()
    events = histories.events.collect()
    assert children["household_id"].to_list() == ["H1", None, "H1", "H4"]
    assert children["birth_date"][0] == date(2015, 3, 1)
    # an offset is converted to local (Asia/Shanghai) wall-clock time; date-only is midnight
    assert events["occurred_at"].to_list()[:3] == [
        datetime(2024, 1, 1),
        datetime(2024, 1, 5, 8, 0),
        datetime(2024, 3, 1),
    ]
    assert events["severity"].to_list() == [2, None, 3, None, 4, None]
    assert events["amount"].to_list() == [None, 3.5, None, None, None, 1500.0]


def test_csv_and_parquet_load_to_the_same_frames(tmp_path: Path) -> None:
    from_csv = load_case_histories(write_folder(tmp_path / "a"), now=NOW)
    from_parquet = load_case_histories(write_folder(tmp_path / "b", fmt="parquet"), now=NOW)
    assert from_csv.children.collect().equals(from_parquet.children.collect())
    assert from_csv.events.collect().equals(from_parquet.events.collect())


def test_loader_refuses_an_invalid_folder_naming_the_rule(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **_broken("events", 0, "severity", "9"))
    with pytest.raises(ContractError, match=r"row 1: column severity: rule severity.range"):
        load_case_histories(folder, now=NOW)


def test_report_as_json(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **_broken("children", 3, "sex", "X"))
    data = json.loads(validate_folder(folder, now=NOW).format_json())
    assert data["ok"] is False
    (violation,) = data["violations"]
    assert violation["rule"] == "sex.allowed"
    assert violation["samples"] == [{"row": 4, "value": "X", "context": None}]
