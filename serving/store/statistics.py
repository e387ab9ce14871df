"""The division's statistics in the store: each publication's report (features.statistics:
suppressed before it is written, so nothing here holds a small count), append-only
(migration 0013)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from serving.store.tables import STATISTICS


def record_statistics(
    connection: Connection, report: dict[str, Any], published_at: datetime, by: str
) -> int:
    """Keep a report (``features.statistics.report``); its new id."""
    row = {
        "exported_at": datetime.fromisoformat(report["exported_at"]),
        "published_at": published_at,
        "published_by": by,
        "definitions_sha256": report["definitions_sha256"],
        "figures": json.dumps(report, ensure_ascii=False, allow_nan=False),
    }
    found: int = connection.execute(
        insert(STATISTICS).values(**row).returning(STATISTICS.c.id)
    ).scalar_one()
    return found


def latest_statistics(connection: Connection) -> dict[str, Any] | None:
    """The latest publication's report with its id and when and by whom it was published,
    or None before the first."""
    query = (
        select(STATISTICS.c.id, STATISTICS.c.published_at, STATISTICS.c.published_by,
               STATISTICS.c.figures)
        .order_by(STATISTICS.c.id.desc())
        .limit(1)
    )  # fmt: skip
    row = connection.execute(query).first()
    if row is None:
        return None
    report: dict[str, Any] = json.loads(row.figures)
    return {
        **report,
        "id": row.id,
        "published_at": row.published_at,
        "published_by": row.published_by,
    }
