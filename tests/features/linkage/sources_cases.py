"""A small valid sources folder as plain rows, and a way of writing it, for sources tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from features import schema as s
from features.linkage import schema as ls

NOW = datetime(2026, 1, 1, 12, 0, 0)
EXPORTED_AT = "2025-06-30T00:00:00"

Rows = list[dict[str, Any]]
Folder = dict[str, dict[str, Rows]]  # source -> table -> rows


def _person(record_id: str, **values: str | None) -> dict[str, Any]:
    return {column: values.get(column) for column in ls.PERSONS_COLUMNS} | {ls.RECORD_ID: record_id}


def _event(
    event_id: str,
    record_id: str,
    event_type: str,
    occurred_at: str,
    recorded_at: str,
    severity: str | None = None,
    amount: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    return dict(
        zip(
            ls.SOURCE_EVENTS_COLUMNS,
            (event_id, record_id, event_type, occurred_at, recorded_at, severity, amount, detail),
            strict=True,
        )
    )


def welfare_persons() -> Rows:
    """Rows 1-4: a valid 18-digit ID number, a 15-digit one, none, and one typed with
    full-width digits and a space; birth dates to the day, the month, the year, and none."""
    return [
        _person(
            "WF-1",
            name="李晓梅",
            id_number="110108201503010247",
            birth_date="2015-03-01",
            sex="F",
            district="Haidian",
            address="海淀区学院路街道清华园社区3号楼",
            hukou="local",
            ethnicity="han",
            guardian_name="李建国",
            guardian_id_number="110108198211030815",
            guardian_phone="13901234567",
            family_ref="F1",
        ),
        _person(
            "WF-2",
            name="王小明",
            id_number="110105120709007",
            birth_date="2012-07",
            sex="M",
            hukou="nonlocal",
            ethnicity="minority",
        ),
        _person(
            "WF-3",
            birth_date="2020",
            sex="U",
            district="Dongcheng",
            hukou="none",
            ethnicity="unknown",
        ),
        _person(
            "WF-4",
            name="赵 云",
            id_number="１３０１０２ ２０２００１３１００３９",
            sex="M",
            district="Miyun",
            hukou="unknown",
            ethnicity="han",
        ),
    ]


def welfare_events() -> Rows:
    return [
        _event("E1", "WF-1", "welfare.investigation_opened", "2024-01-01", "2024-01-01T09:30:00",
               detail="neglect"),
        _event("E2", "WF-1", "welfare.finding", "2024-02-01", "2024-02-03", "3",
               detail="substantiated"),
        _event("E3", "WF-2", "welfare.case_opened", "2024-03-01", "2024-03-01"),
        _event("E4", "WF-3", "welfare.emergency_removal", "2024-04-01T10:00:00+08:00",
               "2024-04-02", "2"),
    ]  # fmt: skip


def valid_sources() -> Folder:
    """Four sources (welfare, reports, education, police); record ids and event ids repeat
    across sources, as they may."""
    return {
        "welfare": {ls.PERSONS: welfare_persons(), ls.EVENTS: welfare_events()},
        "reports": {
            ls.PERSONS: [
                _person(
                    "RP-1",
                    name="李晓梅",
                    birth_date="2015-03-01",
                    sex="F",
                    district="Haidian",
                    hukou="local",
                    ethnicity="han",
                    guardian_name="李建国",
                    guardian_phone="139-0123-4567",
                ),
                _person("WF-1", name="小明", sex="U", hukou="unknown", ethnicity="unknown"),
            ],
            ls.EVENTS: [
                _event(
                    "E1", "RP-1", "report.concern", "2024-01-01", "2024-01-01", "2", detail="school"
                ),
                _event(
                    "E2",
                    "WF-1",
                    "report.concern",
                    "2024-05-01",
                    "2024-05-03",
                    "1",
                    detail="neighbor",
                ),
            ],
        },
        "education": {
            ls.PERSONS: [
                _person(
                    "ED-1",
                    name="李晓梅",
                    id_number="110108201503010247",
                    birth_date="2015-03-01",
                    sex="F",
                    district="Haidian",
                    hukou="local",
                    ethnicity="han",
                ),
            ],
            ls.EVENTS: [
                _event(
                    "A1", "ED-1", "education.enrolled", "2021-09-01", "2021-09-01", detail="primary"
                ),
                _event("A2", "ED-1", "education.absence", "2024-01-15", "2024-01-20", amount="3.5"),
            ],
        },
        "police": {
            ls.PERSONS: [
                _person(
                    "PO-1",
                    name="王小明",
                    id_number="110105201207090079",
                    birth_date="2012-07-09",
                    sex="M",
                    district="Chaoyang",
                    hukou="nonlocal",
                    ethnicity="minority",
                ),
            ],
            ls.EVENTS: [
                _event(
                    "P1", "PO-1", "police.domestic_violence_call", "2024-02-10", "2024-02-10", "2"
                ),
                _event("P2", "PO-1", "police.found", "2024-02-11", "2024-02-11"),
            ],
        },
    }


def write_sources_folder(
    folder: Path,
    sources: Folder | None = None,
    fmt: str = "csv",
    exported_at: str | None = EXPORTED_AT,
) -> Path:
    """Write each source's rows as given (every value a string or None) in CSV or parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    for source, tables in (valid_sources() if sources is None else sources).items():
        (folder / source).mkdir(exist_ok=True)
        for name, rows in tables.items():
            expected = ls.PERSONS_COLUMNS if name == ls.PERSONS else ls.SOURCE_EVENTS_COLUMNS
            columns = list(rows[0]) if rows else list(expected)
            frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))
            if fmt == "csv":
                frame.write_csv(folder / source / f"{name}.csv")
            else:
                frame.write_parquet(folder / source / f"{name}.parquet")
    if exported_at is not None:
        (folder / s.EXPORT_FILE).write_text(json.dumps({"exported_at": exported_at}))
    return folder
