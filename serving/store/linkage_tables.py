"""The linkage's tables in the store (docs/store.md): which child each source record
was joined to and how, who each child is (identity data), the pairs waiting for a records
officer, the officers' decisions, caseworkers' requests to merge or split, and the change
log of each linked load. ``serving.store.tables`` holds the Core tables of all of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from serving.store.base import Base


class Link(Base):
    """A source record and the child linkage joined it to: how (``id_number``, ``match``,
    ``review``, ``single``) and the strongest link's match probability. Replaced by each
    linked load (the latest linkage is the truth of who is who)."""

    __tablename__ = "links"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    how: Mapped[str] = mapped_column(String(16))
    match_probability: Mapped[float | None] = mapped_column(Float)
    family_only: Mapped[bool]


class Identity(Base):
    """Who a child is: identity data, shown to the child's own caseworkers and supervisors
    on the child page and to records officers deciding a pair; never in a feature, a
    model, an export, an analyst's response or a log."""

    __tablename__ = "identities"

    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    id_number: Mapped[str | None] = mapped_column(String(32))
    birth_date: Mapped[str | None] = mapped_column(String(10))  # as resolved: may be partial
    birth_precision: Mapped[str | None] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(16))


class ReviewPair(Base):
    """A pair of records in the review band of the latest linked load that no person has
    decided: each record's compared values (JSON, identity data) and each comparison's
    level and weight (JSON). Replaced by each linked load."""

    __tablename__ = "review_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id"))
    source_l: Mapped[str] = mapped_column(String(32))
    record_id_l: Mapped[str] = mapped_column(String(64))
    child_id_l: Mapped[str] = mapped_column(String(64), index=True)
    source_r: Mapped[str] = mapped_column(String(32))
    record_id_r: Mapped[str] = mapped_column(String(64))
    child_id_r: Mapped[str] = mapped_column(String(64), index=True)
    match_probability: Mapped[float] = mapped_column(Float)
    district_l: Mapped[str | None] = mapped_column(String(64), index=True)
    district_r: Mapped[str | None] = mapped_column(String(64), index=True)
    record_l: Mapped[str] = mapped_column(Text)
    record_r: Mapped[str] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text)


class PairDecision(Base):
    """A records officer's decision on a pair of records: ``same``, ``different`` or
    ``unsure``, with a note; append-only, and read by the next `riskflag link` (through
    `riskflag db pair-decisions`): a later decision on the same pair supersedes."""

    __tablename__ = "pair_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_l: Mapped[str] = mapped_column(String(32))
    record_id_l: Mapped[str] = mapped_column(String(64))
    source_r: Mapped[str] = mapped_column(String(32))
    record_id_r: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("link_requests.id"))
    user_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LinkRequest(Base):
    """A caseworker's or supervisor's request that two children are one (``merge``) or one
    child is two (``split``), with the reason: append-only; it waits in the records
    officers' queue until a pair decision answers it."""

    __tablename__ = "link_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    other_child_id: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ChildChange(Base):
    """What a linked load changed about who is who (the linkage's change log: ``merged``,
    ``split``, ``retired``): append-only, with the load that applied it."""

    __tablename__ = "child_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id"))
    change: Mapped[str] = mapped_column(String(16))
    child_id: Mapped[str | None] = mapped_column(String(64), index=True)
    from_child_id: Mapped[str | None] = mapped_column(String(64), index=True)
    records: Mapped[int]
