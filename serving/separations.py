"""Household control: marking a household member as not living with a child, or not in
contact with them (or contact resumed), and the child's score before and after: the one
path the API and the pages take.

Why: with association features on, a child is scored by what is recorded about the
other children of the household. A caseworker who knows a member no longer lives with
the child, or has no contact, says so here, and from ``since`` that member's records
stop counting for the child (features.separations), in every later score, batch and
piece of evidence.

Who: a caseworker or a supervisor, within their districts; a child elsewhere answers as
one that does not exist, the refusal audited. What: the member must be another child of
the same household, as stored now; ``since`` (the day the member left or contact ended)
is not after today, in the deployment's zone, nor before the pair's latest marking (so a
pair's markings read in order); ``resumed`` ends a separation, so it needs one; a reason
is required. The child is rescored at once (serving.rescore); a marking dated after the
score's date changes no score until a later batch reaches it, and the answer says so by
its unchanged scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import polars as pl
from sqlalchemy import select

import features.separations as fs
from serving.access import Caller, reach_child
from serving.audit import Action
from serving.errors import InvalidError
from serving.rescore import rescore
from serving.service import Service
from serving.store import children as stored
from serving.store import separations as separations_store
from serving.store.tables import CHILDREN

MAX_REASON: Final = 2000


@dataclass(frozen=True)
class Marked:
    """A marking as asked: which member, what it says, from when, and why."""

    member_id: str
    kind: str
    since: date
    reason: str


def separate_member(
    service: Service, caller: Caller, child_id: str, marked: Marked
) -> dict[str, Any]:
    """Check, rescore and store a marking about a reachable child; audited. A rule
    broken is InvalidError naming the field."""
    child = reach_child(caller, child_id, Action.SEPARATE_MEMBER)
    _check(service, child, marked)
    pending = pl.DataFrame(
        [{"id": 2**62, "child_id": child.child_id, "member_id": marked.member_id,
          "kind": marked.kind, "since": marked.since}],
        schema=fs.SCHEMA,
    )  # fmt: skip
    rescored = rescore(service, child, separating=pending)
    said = {
        "member_id": marked.member_id,
        "kind": marked.kind,
        "since": marked.since,
        "reason": marked.reason,
        "recorded_by": caller.principal.name,
        "role": caller.principal.role,
    }
    with service.engine.begin() as connection:
        row = separations_store.record_separation(
            connection, {"child_id": child.child_id, "district": child.district}, said, rescored
        )
        caller.audit.allowed(connection, Action.SEPARATE_MEMBER, child.child_id, child.district)
    return {**row, "moved": list(rescored.moved) if rescored else []}


def _check(service: Service, child: stored.ChildRef, marked: Marked) -> None:
    """InvalidError naming the first rule ``marked`` breaks."""
    if marked.kind not in fs.KINDS:
        raise InvalidError("kind", "one_of", f"kind: one of {', '.join(fs.KINDS)}", "body")
    if not marked.reason.strip():  # length and NUL are the edges' rules (MAX_REASON)
        raise InvalidError("reason", "required", "reason: required", "body")
    if marked.member_id not in household_members(service, child):
        raise InvalidError(
            "member_id",
            "household",
            "member_id: not another child of this child's household",
            "body",
        )
    today = datetime.now(service.deployment.zone).date()
    if marked.since > today:
        raise InvalidError("since", "not_future", f"since: after today ({today})", "body")
    with service.engine.connect() as connection:
        latest = separations_store.latest_since(connection, child.child_id, marked.member_id)
        markings = separations_store.frame(connection, [child.child_id])
    if latest is not None and marked.since < latest:
        message = f"since: before this member's latest marking ({latest})"
        raise InvalidError("since", "in_order", message, "body")
    if marked.kind == fs.SeparationKind.RESUMED and not _apart_now(markings, marked.member_id):
        message = "kind: resumed ends a marking apart, and this member has none in force"
        raise InvalidError("kind", "nothing_to_resume", message, "body")


def _apart_now(markings: pl.DataFrame, member_id: str) -> bool:
    """Whether the pair's latest marking separates them."""
    mine = markings.filter(pl.col("member_id") == member_id).sort("since", "id")
    return not mine.is_empty() and mine["kind"][-1] in fs.SEPARATING


def household_members(service: Service, child: stored.ChildRef) -> list[str]:
    """The other children of the child's household as stored now (none without one)."""
    if child.household_id is None:
        return []
    with service.engine.connect() as connection:
        found = connection.execute(
            select(CHILDREN.c.child_id).where(
                CHILDREN.c.household_id == child.household_id,
                CHILDREN.c.merged_into.is_(None),
                CHILDREN.c.child_id != child.child_id,
            )
        ).scalars()
        return sorted(found)


def read_separations(service: Service, caller: Caller, child_id: str) -> list[dict[str, Any]]:
    """The markings about a reachable child, newest first; audited as a read of the
    child's history."""
    child = reach_child(caller, child_id, Action.READ_HISTORY)
    with service.engine.begin() as connection:
        rows = separations_store.of_child(connection, child_id)
        caller.audit.allowed(connection, Action.READ_HISTORY, child_id, child.district)
    return rows
