"""Decisions about children: recorded with the score they were taken on, never edited
(the table is append-only in the database itself: migrations 0004 and 0006)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NoReturn

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from serving.clock import utc_now
from serving.errors import ConflictError, InvalidError
from serving.store.children import ChildRef, merged_with
from serving.store.queue import batch_score, latest_batch
from serving.store.tables import DECISIONS
from serving.vocabulary import DecisionAction, OverrideReason, codes

MAX_NOTE: Final = 4000


def record_decision(
    connection: Connection,
    child: ChildRef,
    user_name: str,
    role: str,
    action: str,
    agrees: bool,
    reason_code: str | None,
    note: str,
) -> dict[str, Any]:
    """Store a decision (in the caller's transaction) with the score it was taken on."""
    if action not in codes(DecisionAction):
        _invalid("action", f"one of {', '.join(codes(DecisionAction))}")
    if reason_code is not None and reason_code not in codes(OverrideReason):
        _invalid("reason_code", f"one of {', '.join(codes(OverrideReason))}")
    if not agrees and reason_code is None:
        _invalid("reason_code", "required when the decision overrides the flag")
    if len(note) > MAX_NOTE:
        _invalid("note", f"at most {MAX_NOTE} characters")
    batch = latest_batch(connection)
    scored = batch_score(connection, batch.id, child.child_id) if batch else None
    taken = (action, agrees, reason_code, note, batch.id if scored and batch else None)
    _refuse_a_repeat(connection, child.child_id, user_name, taken)
    values = {
        "child_id": child.child_id,
        "district": child.district,
        "user_name": user_name,
        "role": role,
        "action": action,
        "agrees": agrees,
        "reason_code": reason_code,
        "note": note,
        "batch_id": batch.id if scored and batch else None,
        "score_1_20": scored["score_1_20"] if scored else None,
        "model_version": batch.model_version if scored and batch else None,
        "created_at": utc_now(),
    }
    decision_id = connection.execute(
        insert(DECISIONS).values(**values).returning(DECISIONS.c.id)
    ).scalar_one()
    return {"id": decision_id, **values}


def _refuse_a_repeat(
    connection: Connection, child_id: str, user_name: str, taken: tuple[Any, ...]
) -> None:
    """The same decision twice is one decision: a user's latest decision about the child,
    if it has the same action, agreement, reason and note on the same batch, is refused
    as already recorded (a double click, a form sent again after "back"). A changed mind
    (any field different) or a new batch is a new decision."""
    last = (
        connection.execute(
            select(DECISIONS)
            .where(DECISIONS.c.child_id == child_id, DECISIONS.c.user_name == user_name)
            .order_by(DECISIONS.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if last is None:
        return
    fields = ("action", "agrees", "reason_code", "note", "batch_id")
    if tuple(last[name] for name in fields) == taken:
        raise RepeatedDecisionError(last["id"], last["created_at"])


class RepeatedDecisionError(ConflictError):
    """This decision is already recorded: ``decision_id`` at ``created_at`` (UTC)."""

    def __init__(self, decision_id: int, created_at: Any) -> None:
        super().__init__(
            f"this decision is already recorded (decision {decision_id}, "
            f"{created_at:%Y-%m-%d %H:%M} UTC): nothing was stored again"
        )
        self.decision_id, self.created_at = decision_id, created_at


def _invalid(field: str, rule: str) -> NoReturn:
    """A decision's field that breaks its rule (every one of them is the body's)."""
    raise InvalidError(field, "decision", f"{field}: {rule}", where="body")


def decisions(
    connection: Connection,
    child_id: str | None = None,
    districts: Sequence[str] | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Decisions, newest first: one child's (with those of the children a linked load
    merged into it: they were taken about the same child, and the survivor keeps both
    trails), or all of some districts'."""
    query = select(DECISIONS).order_by(DECISIONS.c.id.desc()).limit(limit)
    if child_id is not None:
        query = query.where(DECISIONS.c.child_id.in_(merged_with(connection, child_id)))
    if districts is not None:
        query = query.where(DECISIONS.c.district.in_(list(districts)))
    return [dict(row) for row in connection.execute(query).mappings()]
