"""The audit log: every read of a child's data, every decision, every refusal and every
sign-in event leaves a record.

A record says who (user and role; ``ANONYMOUS`` before anyone is known), what (an
``Action``, an outcome), which child (and district), when (UTC) and from where (client
address). It holds identifiers only, never the data read. The table is append-only in
the database itself (migrations 0003 and 0006): UPDATE, DELETE, TRUNCATE and the
deletes hidden in SQLite's REPLACE are refused by triggers, whatever the code does, and
on PostgreSQL the service's own role holds no right to them (serving.store.roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from serving.clock import utc_now
from serving.store.tables import AuditRecord

# "repeated": a decision refused as one already recorded (serving.store.decisions)
OUTCOMES: Final = ("allowed", "denied", "not_found", "throttled", "repeated", "conflict")


class Action(StrEnum):
    """Every action the audit log knows: a typo is an error, never a new action."""

    READ_RISK = "read_risk"
    READ_HISTORY = "read_history"
    READ_QUEUE = "read_queue"
    READ_DECISIONS = "read_decisions"
    RECORD_DECISION = "record_decision"
    SCORE_REQUEST = "score_request"
    READ_AGGREGATES = "read_aggregates"
    READ_MODEL = "read_model"
    READ_AUDIT = "read_audit"
    BATCH_SCORE = "batch_score"
    MODEL_RELOAD = "model_reload"
    READ_USERS = "read_users"
    USER_ADD = "user_add"
    TOKEN_ISSUE = "token_issue"
    TOKEN_REVOKE = "token_revoke"
    USER_DISABLE = "user_disable"
    AUTHENTICATE = "authenticate"  # an API request's bearer token
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    READ_IDENTITY = "read_identity"  # who a child is (name, ID number): the child page
    READ_REVIEW = "read_review"  # the linkage review queue and a pair's records
    DECIDE_PAIR = "decide_pair"  # a records officer's decision on a pair of records
    REQUEST_LINK = "request_link"  # a caseworker's request to merge or split children
    ASSIGN_CHILD = "assign_child"  # a supervisor gives a child to a caseworker
    READ_SUPERVISION = "read_supervision"  # a supervisor's counts of decisions by worker
    FAMILY_SUMMARY = "family_summary"  # a summary of the score made for the child's family
    CORRECT_RECORD = "correct_record"  # a record marked wrong, amended or expunged
    SEPARATE_MEMBER = "separate_member"  # a household member marked apart from a child
    READ_MONITORING = "read_monitoring"  # a batch's monitoring checks (no child data)
    READ_STATISTICS = "read_statistics"  # the division's statistics (suppressed counts)


class Actor(Protocol):
    """Who a record is about: a Principal, or a stand-in such as ANONYMOUS."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class Someone:
    name: str
    role: str


# before a token or a password has named anyone (never the name typed: it may be a
# password typed in the wrong field)
ANONYMOUS: Final = Someone("(anonymous)", "none")


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
    principal: Actor,
    action: Action | str,
    outcome: str,
    child_id: str | None = None,
    district: str | None = None,
    client: str | None = None,
) -> None:
    """Append one record in the caller's transaction (so a read and its record stand or
    fall together)."""
    if outcome not in OUTCOMES:
        raise AuditError(f"outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
    try:
        action = Action(action)
    except ValueError:
        raise AuditError(f"action {action!r}: not an audit action") from None
    connection.execute(
        insert(AuditRecord).values(
            at=utc_now(),
            user_name=principal.name,
            role=principal.role,
            action=action.value,
            child_id=child_id,
            district=district,
            client=(client or "")[:64] or None,
            outcome=outcome,
        )
    )


@dataclass(frozen=True)
class Audit:
    """Who is asking and from where, and the store their trail is kept in: what a route
    or a page needs to say what it did (``allowed``) or refused (``refused``), never how
    an audit row is written."""

    engine: Engine
    who: Actor
    client: str | None

    def allowed(
        self,
        connection: Connection,
        action: Action,
        child_id: str | None = None,
        district: str | None = None,
    ) -> None:
        """Record an allowed ``action`` in the transaction of the read or write it covers."""
        record(connection, self.who, action, "allowed", child_id, district, self.client)

    def done(self, action: Action) -> None:
        """Record an allowed ``action`` that reads no child's data (an admin's), in a
        transaction of its own, after the action."""
        with self.engine.begin() as connection:
            record(connection, self.who, action, "allowed", client=self.client)

    def refused(
        self,
        action: Action,
        outcome: str = "denied",
        child_id: str | None = None,
        district: str | None = None,
    ) -> None:
        """Record a refusal in a transaction of its own (the refusal's answer rolls back
        nothing it must keep)."""
        with self.engine.begin() as connection:
            record(connection, self.who, action, outcome, child_id, district, self.client)


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
