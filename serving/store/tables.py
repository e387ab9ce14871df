"""The store's tables (SQLAlchemy 2 declarative). Alembic's migrations create them; these
classes are what the code reads and writes (the linkage's own in
``serving.store.linkage_tables``), and the Core tables at the end are what the store's
queries name. Columns follow the data contract one to one,
so a child read back from the store is the child that was loaded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from serving.store.base import Base as Base  # noqa: PLC0414 (re-export: the migrations' metadata)
from serving.store.linkage_tables import (
    ChildChange,
    Identity,
    Link,
    LinkRequest,
    PairDecision,
    ReviewPair,
)


class Child(Base):
    __tablename__ = "children"

    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(64), index=True)
    hukou: Mapped[str] = mapped_column(String(32))
    ethnicity: Mapped[str] = mapped_column(String(32))
    household_id: Mapped[str | None] = mapped_column(String, index=True)
    # set when a later linkage merged this child into another (the change log's `merged`)
    merged_into: Mapped[str | None] = mapped_column(String(64))


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_child_recorded", "child_id", "recorded_at"),)

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), ForeignKey("children.child_id"))
    event_type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    severity: Mapped[int | None] = mapped_column(SmallInteger)
    amount: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(String(64))
    # where the record came from (a linked folder's events; None for a contract folder
    # that riskflag did not link): the partner's system and its own record id
    source: Mapped[str | None] = mapped_column(String(32))
    source_record_id: Mapped[str | None] = mapped_column(String(64))


class Load(Base):
    """One export loaded: which files (their SHA-256), when, and what changed."""

    __tablename__ = "loads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(1024))
    exported_at: Mapped[datetime] = mapped_column(DateTime)
    loaded_at: Mapped[datetime] = mapped_column(DateTime)
    children: Mapped[int]
    events: Mapped[int]
    inserted: Mapped[int]
    updated: Mapped[int]


class User(Base):
    """A person using the service; caseworkers and supervisors act within their districts."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_hash: Mapped[str | None] = mapped_column(String(255))


class UserDistrict(Base):
    __tablename__ = "user_districts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    district: Mapped[str] = mapped_column(String(64), primary_key=True)


class Token(Base):
    """An API token: its public id, and the SHA-256 of its secret (never the secret)."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditRecord(Base):
    """Who read or did what to which child, when, from where: append-only (the database
    refuses UPDATE, DELETE, TRUNCATE and REPLACE on this table; so it does on decisions,
    batches, batch_scores and loads)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime)
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    child_id: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))


class Batch(Base):
    """One scoring of the whole store: which model, which as-of date, by whom, when."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[date]
    model_version: Mapped[str] = mapped_column(String(16))
    model_sha256: Mapped[str] = mapped_column(String(64))
    model_family: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    children: Mapped[int]
    flagged: Mapped[int]


class BatchScore(Base):
    """A child's score in a batch; ``reasons`` is JSON: the top factors with contributions."""

    __tablename__ = "batch_scores"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    district: Mapped[str] = mapped_column(String(64))
    probability: Mapped[float] = mapped_column(Float)
    score_1_20: Mapped[int] = mapped_column(SmallInteger)
    tier: Mapped[str] = mapped_column(String(16))
    flagged: Mapped[bool]
    reasons: Mapped[str] = mapped_column(Text)


class Decision(Base):
    """What a caseworker decided about a flagged child: append-only (triggers refuse
    UPDATE, DELETE, TRUNCATE and REPLACE); a later decision supersedes an earlier one."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(String(64), ForeignKey("children.child_id"))
    district: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    agrees: Mapped[bool]
    reason_code: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    score_1_20: Mapped[int | None] = mapped_column(SmallInteger)
    model_version: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Session(Base):
    """A signed-in browser: the SHA-256 of its cookie's secret, never the secret."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class Throttle(Base):
    """Failed sign-ins or token presentations in the current window, per key: the SHA-256
    of a client address, or of a name typed with a client address (never the name)."""

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    failures: Mapped[int] = mapped_column(Integer)


class Assignment(Base):
    """Which caseworker (or supervisor) a supervisor gave a child to, with a note:
    append-only (migration 0008); the latest row per child is the current assignment,
    and unassigning is a row whose ``assignee`` is None."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_child", "child_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(String(64), ForeignKey("children.child_id"))
    district: Mapped[str] = mapped_column(String(64), index=True)
    assignee: Mapped[str | None] = mapped_column(String(64))
    assigned_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Rescored:
    """The child's score just before and just after a change to what it is read from (a
    correction, a household marking): model version and date, scores and rates, and the
    factors that moved (JSON)."""

    model_version: Mapped[str | None] = mapped_column(String(32))
    as_of: Mapped[date | None]
    score_before: Mapped[int | None] = mapped_column(SmallInteger)
    score_after: Mapped[int | None] = mapped_column(SmallInteger)
    rate_before: Mapped[float | None] = mapped_column(Float)
    rate_after: Mapped[float | None] = mapped_column(Float)
    moved: Mapped[str | None] = mapped_column(Text)


class Correction(Rescored, Base):
    """A record marked wrong, amended or expunged (features.corrections), with the
    child's score before and after it: append-only (migration 0009)."""

    __tablename__ = "corrections"
    __table_args__ = (
        Index("ix_corrections_child", "child_id", "id"),
        Index("ix_corrections_event", "event_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String, ForeignKey("events.event_id"))
    child_id: Mapped[str] = mapped_column(String(64), ForeignKey("children.child_id"))
    district: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amended: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(256))
    confirmed_by: Mapped[str] = mapped_column(String(128))
    recorded_by: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Separation(Rescored, Base):
    """A household member whose records stop counting for a child from ``since``
    (features.separations), with the child's score before and after it: append-only
    (migration 0010)."""

    __tablename__ = "separations"
    __table_args__ = (Index("ix_separations_child", "child_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(String(64), ForeignKey("children.child_id"))
    member_id: Mapped[str] = mapped_column(String(64), ForeignKey("children.child_id"))
    district: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    since: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BatchCheck(Base):
    """One check of a batch (models.monitoring.Check), with the monitoring policy's
    SHA-256: append-only (migration 0011)."""

    __tablename__ = "batch_checks"
    __table_args__ = (Index("ix_batch_checks_batch", "batch_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    problem: Mapped[str | None] = mapped_column(String(16))
    policy_sha256: Mapped[str] = mapped_column(String(64))


class BatchOutcome(Base):
    """How a past batch's scores turned out (models.outcomes), judged once its horizon
    had passed: the report as JSON, aggregates only; append-only (migration 0012)."""

    __tablename__ = "batch_outcomes"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64))
    horizon_days: Mapped[int] = mapped_column(Integer)
    judged_at: Mapped[datetime] = mapped_column(DateTime)
    report: Mapped[str] = mapped_column(Text)


class StatisticsRun(Base):
    """The division's statistics of one export, counted and suppressed
    (features.statistics) when published: the figures as JSON, no count under the
    threshold and none that would reveal one; append-only (migration 0013)."""

    __tablename__ = "statistics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exported_at: Mapped[datetime] = mapped_column(DateTime)
    published_at: Mapped[datetime] = mapped_column(DateTime)
    published_by: Mapped[str] = mapped_column(String(64))
    definitions_sha256: Mapped[str] = mapped_column(String(64))
    figures: Mapped[str] = mapped_column(Text)


def _core(model: type[Base]) -> Table:
    table: Table = model.__table__  # type: ignore[assignment]
    return table


# the Core tables, for the store's queries written in SQLAlchemy Core
CHILDREN: Final = _core(Child)
EVENTS: Final = _core(Event)
LOADS: Final = _core(Load)
BATCHES: Final = _core(Batch)
SCORES: Final = _core(BatchScore)
DECISIONS: Final = _core(Decision)
THROTTLE: Final = _core(Throttle)
LINKS: Final = _core(Link)
IDENTITIES: Final = _core(Identity)
REVIEW_PAIRS: Final = _core(ReviewPair)
PAIR_DECISIONS: Final = _core(PairDecision)
LINK_REQUESTS: Final = _core(LinkRequest)
CHILD_CHANGES: Final = _core(ChildChange)
ASSIGNMENTS: Final = _core(Assignment)
CORRECTIONS: Final = _core(Correction)
SEPARATIONS: Final = _core(Separation)
BATCH_CHECKS: Final = _core(BatchCheck)
BATCH_OUTCOMES: Final = _core(BatchOutcome)
STATISTICS: Final = _core(StatisticsRun)
