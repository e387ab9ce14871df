"""A small valid data folder as plain rows, and ways of writing it, for contract tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from features import schema as s

NOW = datetime(2026, 1, 1, 12, 0, 0)
EXPORTED_AT = "2025-06-30T00:00:00"


def valid_children() -> list[dict[str, Any]]:
    return [
        {
            "child_id": "C001",
            "birth_date": "2015-03-01",
            "sex": "F",
            "district": "Haidian",
            "hukou": "local",
            "ethnicity": "han",
            "household_id": "H1",
        },
        {
            "child_id": "C002",
            "birth_date": "2012-07-09",
            "sex": "M",
            "district": "Yanqing",
            "hukou": "nonlocal",
            "ethnicity": "minority",
            "household_id": None,
        },
        {
            "child_id": "儿童-003",
            "birth_date": "2020-01-31",
            "sex": "U",
            "district": "Dongcheng",
            "hukou": "none",
            "ethnicity": "unknown",
            "household_id": "H1",
        },
        {
            "child_id": "C004",
            "birth_date": "2009-11-11",
            "sex": "M",
            "district": "Miyun",
            "hukou": "unknown",
            "ethnicity": "han",
            "household_id": "H4",
        },
    ]


def _event(
    event_id: str,
    child_id: str,
    event_type: str,
    occurred_at: str,
    recorded_at: str,
    severity: str | None = None,
    amount: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "child_id": child_id,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "severity": severity,
        "amount": amount,
        "detail": detail,
    }


def valid_events() -> list[dict[str, Any]]:
    """Rows 1-6 exercise each of severity, amount and detail, used and unused."""
    return [
        _event(
            "E1", "C001", "report.concern", "2024-01-01", "2024-01-01T09:30:00", "2", None, "school"
        ),
        _event(
            "E2",
            "C002",
            "education.absence",
            "2024-01-05T08:00:00+08:00",
            "2024-02-01 10:00",
            None,
            "3.5",
        ),
        _event(
            "E3", "儿童-003", "health.injury", "2024-03-01", "2024-03-02", "3", None, "suspicious"
        ),
        _event("E4", "C001", "welfare.case_opened", "2024-04-01T00:00:00", "2024-04-01T00:00:00"),
        _event(
            "E5",
            "C002",
            "health.disability_certified",
            "2023-05-01",
            "2023-06-01",
            "4",
            None,
            "visual",
        ),
        _event(
            "E6",
            "C001",
            "social_aid.temporary_assistance",
            "2024-05-01",
            "2024-05-03",
            None,
            "1500",
            None,
        ),
    ]


def write_folder(
    folder: Path,
    children: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    fmt: str = "csv",
    exported_at: str | None = EXPORTED_AT,
) -> Path:
    """Write rows as given (every value a string or None) in CSV or parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        s.CHILDREN: valid_children() if children is None else children,
        s.EVENTS: valid_events() if events is None else events,
    }
    for name, rows in tables.items():
        columns = list(rows[0]) if rows else list(s.TABLE_COLUMNS[name])
        frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))
        if fmt == "csv":
            frame.write_csv(folder / f"{name}.csv")
        else:
            frame.write_parquet(folder / f"{name}.parquet")
    if exported_at is not None:
        (folder / s.EXPORT_FILE).write_text(json.dumps({"exported_at": exported_at}))
    return folder
