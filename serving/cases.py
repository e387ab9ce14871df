"""Casework as the API and the pages do it: the queue, a child's history and decisions,
each read audited in the same transaction as the read, each refusal audited before it
is raised (serving.access). The store's queries are serving.store's; this module adds
who may run them and the record that they did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serving.access import Caller, districts_asked, reach_child
from serving.audit import Action
from serving.champion import ModelUnavailableError
from serving.explain import factor_fact
from serving.i18n import Language
from serving.service import Service
from serving.store import assignments, changes, corrections
from serving.store import children as stored
from serving.store import decisions as recorded
from serving.store import queue as batches
from serving.store.changes import PastScore
from serving.store.queue import BatchSummary, Capacity, DistrictCount


@dataclass(frozen=True)
class QueueAsked:
    """Which part of the queue: a district of the caller's (or all), a tier, only the
    undecided, only the flagged; a page of ``limit`` from ``cursor``, in ``order``
    (serving.store.queue.ORDERS)."""

    district: str | None = None
    tier: str | None = None
    undecided: bool = False
    flagged: bool = True
    limit: int = 50
    cursor: str | None = None
    order: str = batches.ORDERS[0]


@dataclass(frozen=True)
class QueuePage:
    batch: BatchSummary | None
    rows: list[dict[str, Any]]
    next_cursor: str | None


def read_queue(service: Service, caller: Caller, asked: QueueAsked) -> QueuePage:
    """A page of the latest batch's children in the caller's districts, highest score
    first, each child listed audited as read. A cursor not issued here is InvalidError."""
    districts = districts_asked(caller, asked.district, Action.READ_QUEUE)
    with service.engine.begin() as connection:
        batch = batches.latest_batch(connection)
        if batch is None:
            return QueuePage(None, [], None)
        rows, following = batches.queue(
            connection,
            batch,
            districts,
            asked.tier,
            asked.undecided,
            asked.flagged,
            asked.limit,
            asked.cursor,
            asked.order,
        )
        for row in rows:
            caller.audit.allowed(connection, Action.READ_QUEUE, row["child_id"], row["district"])
    return QueuePage(batch, rows, following)


def with_flagged_since(service: Service, page: QueuePage) -> None:
    """Add to each row of ``page`` when its child was first flagged (``flagged_since``:
    the as-of date of the earliest batch that flagged them; None if none did), who the
    child is assigned to (``assignee``: a user name, None if nobody) and how many of the
    child's records were corrected since the batch was scored (``corrected``: its score
    there does not know them; the child page's does)."""
    children = [row["child_id"] for row in page.rows]
    with service.engine.connect() as connection:
        first = batches.first_flagged(connection, children)
        assigned = assignments.assignees(connection, children)
        since = page.batch.created_at if page.batch else None
        corrected = corrections.corrected_since(connection, children, since) if since else {}
    for row in page.rows:
        row["flagged_since"] = first.get(row["child_id"])
        row["assignee"] = assigned.get(row["child_id"])
        row["corrected"] = corrected.get(row["child_id"], 0)


@dataclass(frozen=True)
class QueueCounts:
    """How the latest batch's flags fell in the caller's districts: each district's
    children by tier and flagged, and the flags its capacity allows."""

    districts: list[DistrictCount]
    allowed: dict[str, int]


def read_queue_counts(service: Service, caller: Caller, district: str | None) -> QueueCounts:
    """The latest batch's counts in the caller's districts (or the one asked): counts of
    children, no child's data, so not audited per child."""
    districts = districts_asked(caller, district, Action.READ_QUEUE)
    with service.engine.connect() as connection:
        batch = batches.latest_batch(connection)
        if batch is None:
            return QueueCounts([], {})
        counts = batches.district_counts(connection, batch.id, districts)
        allowed = {
            count.district: batches.capacity_of(
                connection, batch.id, count.district, service.flagging
            ).allowed
            for count in counts
        }
    return QueueCounts(counts, allowed)


def read_history(
    service: Service, caller: Caller, child_id: str
) -> tuple[stored.ChildRef, dict[str, list[dict[str, Any]]]]:
    """A child's events grouped by source, oldest first; audited."""
    child = reach_child(caller, child_id, Action.READ_HISTORY)
    with service.engine.begin() as connection:
        grouped = stored.history(connection, child_id)
        caller.audit.allowed(connection, Action.READ_HISTORY, child_id, child.district)
    return child, grouped


def read_decisions(service: Service, caller: Caller, child_id: str) -> list[dict[str, Any]]:
    """A child's decisions, newest first; audited."""
    child = reach_child(caller, child_id, Action.READ_DECISIONS)
    with service.engine.begin() as connection:
        rows = recorded.decisions(connection, child_id=child_id)
        caller.audit.allowed(connection, Action.READ_DECISIONS, child_id, child.district)
    return rows


def read_district_decisions(
    service: Service, caller: Caller, district: str | None, limit: int
) -> list[dict[str, Any]]:
    """The decisions of the caller's districts (or one of them), newest first; each
    child's audited."""
    districts = districts_asked(caller, district, Action.READ_DECISIONS)
    with service.engine.begin() as connection:
        rows = recorded.decisions(connection, districts=districts, limit=limit)
        for row in rows:
            caller.audit.allowed(
                connection, Action.READ_DECISIONS, row["child_id"], row["district"]
            )
    return rows


@dataclass(frozen=True)
class Decided:
    """What a caseworker decided: an action, agreement with the flag (or an override and
    its reason) and a note."""

    action: str
    agrees: bool
    reason_code: str | None
    note: str


def record_decision(
    service: Service, caller: Caller, child_id: str, decided: Decided
) -> dict[str, Any]:
    """Store a decision about a reachable child with the score it was taken on; audited.
    A field that breaks its rule is InvalidError naming it; the same decision sent again
    is RepeatedDecisionError, audited as ``repeated``, and nothing is stored twice."""
    child = reach_child(caller, child_id, Action.RECORD_DECISION)
    who = caller.principal
    try:
        with service.engine.begin() as connection:
            stored_row = recorded.record_decision(
                connection,
                child,
                who.name,
                who.role,
                decided.action,
                decided.agrees,
                decided.reason_code,
                decided.note,
            )
            caller.audit.allowed(connection, Action.RECORD_DECISION, child_id, child.district)
    except recorded.RepeatedDecisionError:
        caller.audit.refused(Action.RECORD_DECISION, "repeated", child_id, child.district)
        raise
    return stored_row


def reason_words(service: Service, language: Language) -> Callable[[str, Any], str]:
    """A stored reason (factor name and value) said as a fact about the child, in
    ``language``; the factor's own name when no model is loaded to say more."""
    try:
        model = service.served().model
    except ModelUnavailableError:
        return lambda factor, _: factor
    return lambda factor, value: factor_fact(model, tuple(factor.split(" & ")), language, value)


@dataclass(frozen=True)
class Standing:
    """A child's place in the latest batch: their scores (latest first) and the capacity
    of their flagging group."""

    scores: list[PastScore]
    capacity: Capacity | None


def read_standing(service: Service, caller: Caller, child_id: str) -> Standing:
    """The child's scores in the last two batches and their group's capacity; audited."""
    child = reach_child(caller, child_id, Action.READ_RISK)
    with service.engine.begin() as connection:
        scores = changes.scores_of(connection, child_id)
        capacity = (
            batches.capacity_of(connection, scores[0].batch_id, child.district, service.flagging)
            if scores
            else None
        )
        caller.audit.allowed(connection, Action.READ_RISK, child_id, child.district)
    return Standing(scores, capacity)
