"""Data contract 1.1: its new kinds, and folders of version 1 that stay valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from features import schema as s
from features.contract import check_tables, validate_folder
from features.contract.files import ReadError, parse_contract_version
from features.deployment import Deployment
from features.linkage.sources import validate_sources
from tests.features.contract_cases import (
    EXPORTED_AT,
    NOW,
    _event,
    valid_children,
    valid_events,
    write_folder,
)
from tests.features.linkage.sources_cases import _event as source_event
from tests.features.linkage.sources_cases import (
    valid_sources,
    welfare_persons,
    write_sources_folder,
)

NEW_KINDS = [
    ("social_aid.employment_support", "wage_subsidy", "1800"),
    ("social_aid.housing_support", "public_rental", None),
    ("philanthropy.aid", "medical", "3000"),
]


def _with_version(folder: Path, version: str | None) -> Path:
    raw: dict[str, Any] = {"exported_at": EXPORTED_AT}
    if version is not None:
        raw["contract_version"] = version
    (folder / s.EXPORT_FILE).write_text(json.dumps(raw), encoding="utf-8")
    return folder


def _new_events() -> list[dict[str, Any]]:
    return [
        *valid_events(),
        *(
            _event(f"N{i}", "C001", kind, "2024-06-01", "2024-06-02", None, amount, detail)
            for i, (kind, detail, amount) in enumerate(NEW_KINDS)
        ),
    ]


def test_the_new_kinds_are_in_the_catalogue_as_version_1_1() -> None:
    for kind, detail, _ in NEW_KINDS:
        assert s.CATALOGUE[kind].since == "1.1"
        assert s.CATALOGUE[kind].uses_amount
        assert detail in (s.CATALOGUE[kind].details or ())
    assert "philanthropy" in s.SOURCES
    new = {kind for kind, _, _ in NEW_KINDS}
    assert all(k.since == "1" for k in s.CATALOGUE.values() if k.event_type not in new)


@pytest.mark.parametrize("version", ["1", "1.1", None])
def test_a_version_1_folder_stays_valid_whatever_it_declares(
    tmp_path: Path, version: str | None
) -> None:
    folder = _with_version(write_folder(tmp_path), version)
    report = validate_folder(folder, now=NOW)
    assert report.ok, report.format_text()


@pytest.mark.parametrize("version", ["1.1", None])
def test_the_new_kinds_pass_in_a_1_1_folder(tmp_path: Path, version: str | None) -> None:
    folder = _with_version(write_folder(tmp_path, events=_new_events()), version)
    report = validate_folder(folder, now=NOW)
    assert report.ok, report.format_text()


def test_a_folder_declaring_version_1_refuses_the_new_kinds_by_file_row_and_rule(
    tmp_path: Path,
) -> None:
    folder = _with_version(write_folder(tmp_path, events=_new_events()), "1")
    report = validate_folder(folder, now=NOW)
    assert not report.ok
    (result,) = report.violations
    assert result.rule == "event_type.version"
    assert result.count == len(NEW_KINDS)
    first = len(valid_events()) + 1  # rows are numbered from 1
    assert [sample.row for sample in result.samples] == [first, first + 1, first + 2]
    text = report.format_text()
    assert f"events.csv: row {first}: column event_type: rule event_type.version" in text
    assert "came in contract version 1.1" in text


@pytest.mark.parametrize("value", ["2", "1.0", 1.1, None, ""])
def test_an_unknown_contract_version_is_a_clear_error(tmp_path: Path, value: Any) -> None:
    folder = write_folder(tmp_path)
    raw = {"exported_at": EXPORTED_AT, "contract_version": value}
    (folder / s.EXPORT_FILE).write_text(json.dumps(raw), encoding="utf-8")
    report = validate_folder(folder, now=NOW)
    assert not report.ok
    assert any("contract_version must be" in problem for problem in report.problems)


def test_parse_contract_version_defaults_to_the_current_one() -> None:
    assert parse_contract_version('{"exported_at": "2025-01-01T00:00:00"}') == "1.1"
    assert parse_contract_version('{"contract_version": "1"}') == "1"
    with pytest.raises(ReadError, match="contract_version"):
        parse_contract_version('{"contract_version": "9"}')


@pytest.mark.parametrize(
    ("kind", "detail", "amount", "rule"),
    [
        ("philanthropy.aid", "wage_subsidy", "10", "detail.code"),
        ("social_aid.housing_support", "repair", "-5", "amount.not_negative"),
        ("social_aid.employment_support", "job_referral", "many", "amount.type"),
    ],
)
def test_the_new_kinds_keep_the_rules_of_amount_and_detail(
    tmp_path: Path, kind: str, detail: str, amount: str, rule: str
) -> None:
    events = [*valid_events(), _event("N1", "C001", kind, "2024-06-01", "2024-06-02", None,
                                      amount, detail)]  # fmt: skip
    report = validate_folder(write_folder(tmp_path, events=events), now=NOW)
    assert {result.rule for result in report.violations} == {rule}, report.format_text()


def test_a_request_of_one_child_takes_the_new_kinds() -> None:
    children = pl.DataFrame(valid_children()[:1])
    events = pl.DataFrame(
        [e for e in _new_events() if e["child_id"] == "C001"],
        schema=dict.fromkeys(s.EVENTS_COLUMNS, pl.String),
    )
    histories = check_tables(children, events, now=NOW)
    kinds = set(histories.events.collect()[s.EVENT_TYPE].cast(str))
    assert {kind for kind, _, _ in NEW_KINDS} <= kinds


@pytest.mark.parametrize(("version", "ok"), [("1", False), ("1.1", True)])
def test_a_philanthropy_source_follows_the_declared_version(
    tmp_path: Path, version: str, ok: bool
) -> None:
    sources = valid_sources()
    person = {**welfare_persons()[0], "record_id": "CS00000001"}
    sources["philanthropy"] = {
        "persons": [person],
        "events": [
            source_event("P1", "CS00000001", "philanthropy.aid", "2024-06-01", "2024-06-03",
                         None, "2000", "education"),
        ],
    }  # fmt: skip
    folder = _with_version(write_sources_folder(tmp_path, sources), version)
    report = validate_sources(folder, Deployment(), now=NOW)
    assert report.ok == ok, report.format_text()
    if not ok:
        assert {r.rule for r in report.violations} == {"event_type.version"}
        assert "philanthropy" in report.format_text()
