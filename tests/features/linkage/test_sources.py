"""The sources folder (source-exports.md): every rule broken alone is named by file, row,
column and rule; nothing is half-read; ID numbers are counted, never refused; identity
values never appear in a report."""

from __future__ import annotations

import json
import string
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features import schema as s
from features.deployment import Deployment
from features.linkage import schema as ls
from features.linkage.idnumber import parse_id_number
from features.linkage.sources import (
    SourcesError,
    SourcesReport,
    id_forms,
    load_sources,
    validate_sources,
)
from tests.features.linkage.sources_cases import (
    NOW,
    Folder,
    valid_sources,
    write_sources_folder,
)

BEIJING = Deployment()

# (source, table, 0-based row, column, new value, rule expected)
RULE_CASES: list[tuple[str, str, int, str, str | None, str]] = [
    ("welfare", "persons", 3, "record_id", None, "record_id.required"),
    ("welfare", "persons", 3, "record_id", "WF-1", "record_id.unique"),
    ("welfare", "persons", 3, "record_id", "X" * 65, "record_id.max_length"),
    ("welfare", "persons", 3, "birth_date", "2015-13", "birth_date.type"),
    ("welfare", "persons", 3, "birth_date", "2015-02-30", "birth_date.type"),
    ("welfare", "persons", 3, "birth_date", "2015/03/01", "birth_date.type"),
    ("welfare", "persons", 3, "birth_date", "15", "birth_date.type"),
    ("welfare", "persons", 3, "birth_date", "2025-07-01", "birth_date.not_after_export"),
    ("welfare", "persons", 3, "birth_date", "2025-07", "birth_date.not_after_export"),
    ("welfare", "persons", 3, "birth_date", "2026", "birth_date.not_after_export"),
    ("welfare", "persons", 3, "birth_date", "2000-06-29", "birth_date.max_age"),
    ("welfare", "persons", 3, "birth_date", "2000-05", "birth_date.max_age"),
    ("welfare", "persons", 3, "birth_date", "1999", "birth_date.max_age"),
    ("welfare", "persons", 3, "sex", "X", "sex.allowed"),
    ("welfare", "persons", 3, "sex", None, "sex.allowed"),
    ("welfare", "persons", 3, "district", "Pudong", "district.known"),
    ("welfare", "persons", 3, "hukou", "rural", "hukou.allowed"),
    ("welfare", "persons", 3, "ethnicity", "uyghur", "ethnicity.allowed"),
    ("reports", "events", 1, "event_id", None, "event_id.required"),
    ("reports", "events", 1, "event_id", "E1", "event_id.unique"),
    ("reports", "events", 1, "record_id", None, "record_id.required"),
    ("reports", "events", 1, "record_id", "PO-1", "record_id.known"),
    ("welfare", "events", 2, "event_type", "welfare.case_reopened", "event_type.known"),
    ("welfare", "events", 2, "event_type", "police.rescue", "event_type.source"),
    ("police", "events", 1, "event_type", "welfare.case_opened", "event_type.source"),
    ("welfare", "events", 2, "occurred_at", "01/03/2024", "occurred_at.type"),
    ("welfare", "events", 2, "occurred_at", None, "occurred_at.required"),
    ("welfare", "events", 2, "recorded_at", "2024-02-29T23:59", "recorded_at.not_before_occurred"),
    ("welfare", "events", 2, "recorded_at", "2025-06-30T00:00:01", "recorded_at.not_after_export"),
    ("welfare", "events", 1, "severity", "two", "severity.type"),
    ("welfare", "events", 1, "severity", "4", "severity.range"),
    ("welfare", "events", 2, "severity", "1", "severity.not_used"),
    ("education", "events", 1, "amount", "-1", "amount.not_negative"),
    ("education", "events", 1, "amount", "inf", "amount.finite"),
    ("education", "events", 0, "amount", "10", "amount.not_used"),
    ("education", "events", 0, "detail", "university", "detail.code"),
]  # fmt: skip


def _broken(source: str, table: str, row: int, column: str, value: str | None) -> Folder:
    folder = valid_sources()
    folder[source][table][row][column] = value
    return folder


def _rules(report: SourcesReport) -> set[str]:
    return {result.rule for result in report.violations}


def _validate(folder: Path, **options: Any) -> SourcesReport:
    return validate_sources(folder, BEIJING, now=NOW, **options)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_folder_passes_with_a_summary_per_source(tmp_path: Path, fmt: str) -> None:
    report = _validate(write_sources_folder(tmp_path, fmt=fmt))
    assert report.ok, report.format_text()
    summary = report.summary
    assert summary is not None
    assert summary.present == ("welfare", "reports", "education", "police")
    assert summary.absent == ("community", "social_aid", "health", "philanthropy")
    assert summary.exported_at == datetime(2025, 6, 30)
    welfare = summary.sources["welfare"]
    assert (welfare.persons, welfare.events) == (4, 4)
    assert welfare.files == (f"welfare/persons.{fmt}", f"welfare/events.{fmt}")
    assert welfare.birth_dates == {"day": 1, "month": 1, "year": 1, "missing": 1}
    assert welfare.names_missing == 1
    # the 15-digit number and the full-width one with a space are well formed
    assert (welfare.id_number.missing, welfare.id_number.malformed) == (1, 0)
    assert welfare.id_number.bad_check == 0
    text = report.format_text()
    assert "sources:  welfare, reports, education, police (4 of 8); absent: community" in text
    assert "welfare: 4 person records (welfare/persons." in text


@pytest.mark.parametrize(("source", "table", "row", "column", "value", "rule"), RULE_CASES)
def test_each_rule_broken_alone_is_named_with_its_file_and_row(
    tmp_path: Path, source: str, table: str, row: int, column: str, value: str | None, rule: str
) -> None:
    folder = write_sources_folder(tmp_path, _broken(source, table, row, column, value))
    report = _validate(folder)
    assert not report.ok
    assert _rules(report) == {rule}, report.format_text()
    (result,) = report.violations
    assert result.file == f"{source}/{table}.csv"
    assert result.column == column
    assert result.count == 1
    assert [sample.row for sample in result.samples] == [row + 1]
    assert result.samples[0].value == value
    line = f"{source}/{table}.csv: row {row + 1}: column {column}: rule {rule}"
    assert line in report.format_text()
    assert report.summary is None


@pytest.mark.parametrize(
    "birth_date",
    ["2025-06", "2025-06-30", "2025", "2000", "2000-06", "2000-06-30", None, ""],
)
def test_partial_birth_dates_within_the_limits_are_valid(
    tmp_path: Path, birth_date: str | None
) -> None:
    """A partial date breaks a limit only when every day it may mean does."""
    folder = write_sources_folder(
        tmp_path, _broken("welfare", "persons", 3, "birth_date", birth_date)
    )
    assert _validate(folder).ok


def test_an_event_of_another_source_is_named_with_the_source_it_belongs_to(
    tmp_path: Path,
) -> None:
    """police/ holds police.* events only; reports/ holds report.concern."""
    sources = valid_sources()
    sources["police"][ls.EVENTS][1][s.EVENT_TYPE] = "welfare.case_opened"
    sources["reports"][ls.EVENTS][0][s.EVENT_TYPE] = "police.found"
    sources["reports"][ls.EVENTS][0][s.SEVERITY] = sources["reports"][ls.EVENTS][0][s.DETAIL] = None
    report = _validate(write_sources_folder(tmp_path, sources))
    assert [(r.file, r.rule) for r in report.violations] == [
        ("reports/events.csv", "event_type.source"),
        ("police/events.csv", "event_type.source"),
    ]
    assert (
        "police/events.csv: row 2: column event_type: rule event_type.source: must be an event "
        "type of this source's own (police.*): 'welfare.case_opened'"
    ) in report.format_text()


def test_an_events_record_id_must_be_in_its_own_sources_persons(tmp_path: Path) -> None:
    """PO-1 is a police record: a report naming it names a person reports/ does not hold."""
    sources = valid_sources()
    sources["reports"][ls.EVENTS][0][ls.RECORD_ID] = "PO-1"
    report = _validate(write_sources_folder(tmp_path, sources))
    (result,) = report.violations
    assert (result.file, result.rule, result.samples[0].value) == (
        "reports/events.csv",
        "record_id.known",
        "PO-1",
    )
    assert "must be a record_id listed in reports/persons" in report.format_text()


def test_ids_are_unique_within_a_source_not_across_sources(tmp_path: Path) -> None:
    """E1 and the record WF-1 are in welfare/ and in reports/ alike: valid."""
    assert _validate(write_sources_folder(tmp_path)).ok
    sources = valid_sources()
    sources["police"][ls.EVENTS][1][s.EVENT_ID] = "P1"
    report = _validate(write_sources_folder(tmp_path, sources))
    assert [(r.file, r.rule) for r in report.violations] == [
        ("police/events.csv", "event_id.unique")
    ]


# ---- nothing half-read ------------------------------------------------------------------


def test_one_bad_source_loads_nothing(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path, _broken("police", "events", 0, "severity", "9"))
    with pytest.raises(SourcesError, match=r"police/events.csv: row 1: column severity") as caught:
        load_sources(folder, BEIJING, now=NOW)
    assert caught.value.report.summary is None
    report = _validate(folder)
    assert not report.ok
    assert [result.file for result in report.violations] == ["police/events.csv"]


def test_one_unreadable_source_loads_nothing(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path)
    (folder / "education" / "events.csv").write_bytes(b"")
    with pytest.raises(SourcesError) as caught:
        load_sources(folder, BEIJING, now=NOW)
    assert caught.value.report.problems == (
        "education/events.csv: empty file: a header row is required",
    )


# ---- the folder -------------------------------------------------------------------------


def test_an_unknown_subfolder_is_an_error(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path)
    (folder / "hotline").mkdir()
    (folder / "hotline" / "persons.csv").write_text("record_id\n")
    report = _validate(folder)
    assert not report.ok
    (problem,) = report.problems
    assert problem.startswith("hotline/: not a known source (the known sources: welfare, reports")


def test_an_empty_subfolder_is_an_error(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path)
    (folder / "health").mkdir()
    report = _validate(folder)
    assert report.problems == ("health/: empty folder: expected persons and events",)


def test_a_folder_without_sources_is_an_error(tmp_path: Path) -> None:
    report = _validate(tmp_path)
    assert len(report.problems) == 1
    assert "no source subfolder" in report.problems[0]
    assert _validate(tmp_path / "nope").problems == (f"{tmp_path / 'nope'}: no such folder",)


def test_a_missing_source_is_fine_and_other_files_are_ignored(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path, {"police": valid_sources()["police"]})
    (folder / "README.txt").write_text("exports of 2025-06-30")
    (folder / "police" / "notes.txt").write_text("from the district bureau")
    report = _validate(folder)
    assert report.ok, report.format_text()
    assert report.summary is not None
    assert report.summary.present == ("police",)
    assert len(report.summary.absent) == len(ls.KNOWN_SOURCES) - 1


def test_a_deployment_may_add_sources(tmp_path: Path) -> None:
    sources = valid_sources()
    folder = write_sources_folder(tmp_path, {"hotline": sources["reports"]})
    assert not _validate(folder).ok
    report = _validate(folder, extra_sources={"hotline": "report"})
    assert report.ok, report.format_text()
    assert report.summary is not None
    assert report.summary.present == ("hotline",)


def test_both_forms_of_a_table_are_ambiguous(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path)
    write_sources_folder(tmp_path, {"welfare": valid_sources()["welfare"]}, fmt="parquet")
    report = _validate(folder)
    assert report.problems == (
        "welfare/persons: both welfare/persons.parquet and welfare/persons.csv exist: the "
        "folder is ambiguous, keep exactly one",
        "welfare/events: both welfare/events.parquet and welfare/events.csv exist: the "
        "folder is ambiguous, keep exactly one",
    )


def test_a_missing_table_and_a_missing_column_are_named(tmp_path: Path) -> None:
    sources = valid_sources()
    sources["police"][ls.PERSONS] = [
        {k: v for k, v in row.items() if k != ls.HUKOU} for row in sources["police"][ls.PERSONS]
    ]
    folder = write_sources_folder(tmp_path, sources)
    (folder / "education" / "events.csv").unlink()
    report = _validate(folder)
    assert report.problems == (
        "education/events: missing: expected events.parquet or events.csv in "
        f"{folder / 'education'}",
        "police/persons.csv: missing column(s) 'hukou'",
    )


def test_unknown_columns_are_ignored_with_a_warning(tmp_path: Path) -> None:
    sources = valid_sources()
    sources["police"][ls.PERSONS] = [
        {**row, "officer": "x"} for row in sources["police"][ls.PERSONS]
    ]
    report = _validate(write_sources_folder(tmp_path, sources))
    assert report.ok
    assert report.warnings == ("police/persons.csv: unknown column 'officer' ignored",)


# ---- the export date --------------------------------------------------------------------


def test_without_export_json_the_export_date_is_the_latest_recorded_at_of_all_sources(
    tmp_path: Path,
) -> None:
    """The latest recorded_at is reports/' 2024-05-03: a birth in welfare/ after it is not."""
    sources = _broken("welfare", "persons", 3, "birth_date", "2024-05-04")
    report = _validate(write_sources_folder(tmp_path, sources, exported_at=None))
    assert _rules(report) == {"birth_date.not_after_export"}
    sources = _broken("welfare", "persons", 3, "birth_date", "2024-05")
    report = _validate(write_sources_folder(tmp_path, sources, exported_at=None))
    assert report.ok
    assert report.summary is not None
    assert report.summary.exported_at == datetime(2024, 5, 3)
    assert report.summary.export_date_source == "latest recorded_at"


def test_an_export_date_in_the_future_is_refused(tmp_path: Path) -> None:
    report = _validate(write_sources_folder(tmp_path, exported_at="2027-01-01T00:00:00"))
    assert len(report.problems) == 1
    assert report.problems[0].startswith("export.json: exported_at 2027-01-01 00:00:00 lies after")


def test_timestamps_after_the_moment_of_validation_are_caught(tmp_path: Path) -> None:
    sources = valid_sources()
    sources["police"][ls.EVENTS][1][s.OCCURRED_AT] = "2026-02-01"
    sources["police"][ls.EVENTS][1][s.RECORDED_AT] = "2026-02-01"
    report = _validate(write_sources_folder(tmp_path, sources, exported_at=None))
    assert _rules(report) == {"occurred_at.not_in_future", "recorded_at.not_in_future"}


# ---- ID numbers: counted, never refused ---------------------------------------------------


def test_malformed_and_failing_id_numbers_are_counted_and_flagged_not_refused(
    tmp_path: Path,
) -> None:
    sources = valid_sources()
    persons = sources["welfare"][ls.PERSONS]
    persons[0][ls.ID_NUMBER] = "110108201503010248"  # the check digit is 7
    persons[1][ls.ID_NUMBER] = "11010820150301024"  # 17 digits
    persons[2][ls.ID_NUMBER] = "110108-2015-0301"
    persons[3][ls.GUARDIAN_ID_NUMBER] = "ID unknown"
    folder = write_sources_folder(tmp_path, sources)
    report = _validate(folder)
    assert report.ok, report.format_text()
    assert report.summary is not None
    welfare = report.summary.sources["welfare"]
    assert (welfare.id_number.missing, welfare.id_number.malformed) == (0, 2)
    assert welfare.id_number.bad_check == 1
    assert welfare.guardian_id_number.malformed == 1
    flagged = {(r.file, r.column, r.rule): r for r in report.flagged}
    ids = flagged["welfare/persons.csv", "id_number", "id_number.well_formed"]
    assert (ids.count, [x.row for x in ids.samples], ids.withheld) == (2, [2, 3], True)
    assert [x.value for x in ids.samples] == [
        "17 characters: 17 digits",
        "16 characters: 14 digits, 2 others",
    ]
    text = report.format_text()
    assert (
        "warning: welfare/persons.csv: row 2: column id_number: rule id_number.well_formed: "
        "is not 15 digits, or 17 digits and a digit or X: kept and flagged: value withheld "
        "(17 characters: 17 digits)"
    ) in text
    assert "1 failing the check digit" in text
    assert load_sources(folder, BEIJING, now=NOW).persons.height == 8


ID_TEXT = st.text(alphabet=string.digits + "Xx ０１２３４５６７８９\u3000-", max_size=20)


@given(st.lists(st.one_of(st.none(), ID_TEXT, st.sampled_from(["110108201503010247"]))))
def test_id_forms_agree_with_parse_id_number(values: list[str | None]) -> None:
    def form(value: str | None) -> str:
        number = parse_id_number(value)
        if number is None:
            return "missing"
        if not number.well_formed:
            return "malformed"
        return "well_formed" if number.check_ok else "bad_check"

    assert id_forms(pl.Series(values, dtype=pl.String)).to_list() == [form(v) for v in values]


# ---- identity data never printed --------------------------------------------------------

IDENTITY_VALUES = (
    "李晓梅",
    "海淀区学院路街道清华园社区3号楼",
    "李建国",
    "13901234567",
    "139-0123-4567",
    "110108201503010247",
    "110108198211030815",
    "王小明",
    "1101052012070900",
    "赵 云",
    "ID unknown",
)


def test_identity_values_never_appear_in_a_report(tmp_path: Path) -> None:
    sources = valid_sources()
    persons = sources["welfare"][ls.PERSONS]
    persons[1][ls.ID_NUMBER] = "1101052012070900"  # 16 digits: flagged
    persons[3][ls.GUARDIAN_ID_NUMBER] = "ID unknown"
    for row in persons:  # every row also breaks a rule, so that every row is shown
        row[ls.SEX] = "female"
    report = _validate(write_sources_folder(tmp_path, sources))
    assert not report.ok
    assert report.flagged
    outputs = (report.format_text(), report.format_json(), str(SourcesError(report)))
    for output in outputs:
        for value in IDENTITY_VALUES:
            assert value not in output
    assert "value withheld (16 characters: 16 digits)" in outputs[0]


def test_a_persons_file_the_csv_parser_stops_at_is_named_without_its_values(
    tmp_path: Path,
) -> None:
    folder = write_sources_folder(tmp_path)
    with (folder / "welfare" / "persons.csv").open("a", encoding="utf-8") as handle:
        handle.write('WF-9,"张秀英,110108201001010011,2010-01-01\n')
    report = _validate(folder)
    (problem,) = report.problems
    assert problem.startswith("welfare/persons.csv: cannot be read as CSV")
    assert "张秀英" not in problem
    assert "110108201001010011" not in problem


# ---- the loader -------------------------------------------------------------------------


def test_loader_stacks_every_source_with_source_first(tmp_path: Path) -> None:
    sources = load_sources(write_sources_folder(tmp_path), BEIJING, now=NOW)
    assert sources.persons.columns == [ls.SOURCE, *ls.PERSONS_COLUMNS]
    assert set(sources.persons.dtypes) == {pl.String}
    assert sources.events.columns == [ls.SOURCE, *ls.SOURCE_EVENTS_COLUMNS]
    assert sources.events.schema[s.EVENT_TYPE] == s.EVENT_TYPE_DTYPE
    assert sources.events.schema[s.OCCURRED_AT] == s.TIMESTAMP_DTYPE
    assert sources.events.schema[s.AMOUNT] == pl.Float64
    assert sources.events.schema[s.SEVERITY].is_integer()
    assert sources.exported_at == datetime(2025, 6, 30)
    assert sources.folder == tmp_path
    assert sources.report.ok
    per_source = dict(sources.persons.group_by(ls.SOURCE).len().iter_rows())
    assert per_source == {"welfare": 4, "reports": 2, "education": 1, "police": 1}
    welfare = sources.persons.filter(pl.col(ls.SOURCE) == "welfare")
    assert welfare[ls.BIRTH_DATE].to_list() == ["2015-03-01", "2012-07", "2020", None]
    events = sources.events.filter(pl.col(ls.SOURCE) == "welfare")
    # an offset is converted to local (Asia/Shanghai) wall-clock time; date-only is midnight
    assert events[s.OCCURRED_AT].to_list()[2:] == [datetime(2024, 3, 1), datetime(2024, 4, 1, 10)]
    assert events[s.SEVERITY].to_list() == [None, 3, None, 2]


def test_csv_and_parquet_load_to_the_same_frames(tmp_path: Path) -> None:
    from_csv = load_sources(write_sources_folder(tmp_path / "a"), BEIJING, now=NOW)
    from_parquet = load_sources(
        write_sources_folder(tmp_path / "b", fmt="parquet"), BEIJING, now=NOW
    )
    assert from_csv.persons.equals(from_parquet.persons)
    assert from_csv.events.equals(from_parquet.events)


def test_parquet_birth_dates_typed_as_dates_are_read_as_text(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path, {"police": valid_sources()["police"]}, fmt="parquet")
    path = folder / "police" / "persons.parquet"
    pl.read_parquet(path).with_columns(pl.lit(date(2012, 7, 9)).alias(ls.BIRTH_DATE)).write_parquet(
        path
    )
    sources = load_sources(folder, BEIJING, now=NOW)
    assert sources.persons[ls.BIRTH_DATE].to_list() == ["2012-07-09"]


def test_report_as_json(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path, _broken("welfare", "persons", 3, "sex", "X"))
    data = json.loads(_validate(folder).format_json())
    assert data["ok"] is False
    (violation,) = data["violations"]
    assert (violation["file"], violation["rule"]) == ("welfare/persons.csv", "sex.allowed")
    assert violation["samples"] == [{"row": 4, "value": "X", "context": None}]
    valid = json.loads(_validate(write_sources_folder(tmp_path / "ok")).format_json())
    assert valid["ok"] is True
    assert valid["summary"]["sources"]["welfare"]["birth_dates"]["month"] == 1
