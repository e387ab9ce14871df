"""The audit log: every read of a child's data and every decision leaves a record.

A record says who (user and role), what (action, outcome), which child (and district),
when (UTC) and from where (client address). It holds identifiers only, never the data
read. The table is append-only in the database itself (migration 0003): UPDATE, DELETE
and TRUNCATE are refused by triggers, whatever the code does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from serving.store.tables import AuditRecord
from serving.users import Principal

OUTCOMES: Final = ("allowed", "denied", "not_found")


class AuditError(ValueError):
    """An audit record that cannot be written as given."""


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user_name: str
    role: str
    action: str
    child_id: str | None
    district: str | None
    client: str | None
    outcome: str


def record(
    connection: Connection,
    principal: Principal,
    action: str,
    outcome: str,
    child_id: str | None = None,
    district: str | None = None,
    client: str | None = None,
) -> None:
    """Append one record in the caller's transaction (so a read and its record stand or
    fall together)."""
    if outcome not in OUTCOMES:
        raise AuditError(f"outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
    if not action or len(action) > 64:
        raise AuditError("action: 1-64 characters")
    connection.execute(
        insert(AuditRecord).values(
            at=datetime.now(UTC).replace(tzinfo=None),
            user_name=principal.name,
            role=principal.role,
            action=action,
            child_id=child_id,
            district=district,
            client=(client or "")[:64] or None,
            outcome=outcome,
        )
    )


def entries(
    engine: Engine, child_id: str | None = None, user_name: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The latest records, newest first, for one child or one user (admins read these)."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if child_id is not None:
        query = query.where(AuditRecord.child_id == child_id)
    if user_name is not None:
        query = query.where(AuditRecord.user_name == user_name)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        AuditEntry(
            row["at"],
            row["user_name"],
            row["role"],
            row["action"],
            row["child_id"],
            row["district"],
            row["client"],
            row["outcome"],
        )
        for row in rows
    ]
