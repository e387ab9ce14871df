"""Supervision as the API and the pages do it: how decisions went in a supervisor's
districts over a period (by worker, by district, by override reason, with override
rates), the flagged children nobody has decided about yet, and assigning a child to a
caseworker.

Counts of decisions are about caseworkers' work, not about children: they need no
suppression, and name no child. The children not yet reviewed are listed by child id
only, each audited as read (as the queue's are, serving.cases); every assignment is
audited, and so is every refusal (serving.access for role and district, here for an
assignee who may not take the child).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, Final

from serving.access import Caller, admit, districts_asked, reach_child
from serving.audit import Action
from serving.clock import utc_now
from serving.errors import InvalidError
from serving.limits import NOTE, USER_NAME, check
from serving.service import Service
from serving.store import assignments as stored
from serving.store import queue as batches
from serving.store.assignments import Tally
from serving.store.queue import BatchSummary
from serving.vocabulary import Role


class Period(IntEnum):
    """The periods a summary covers, in days (the API's and the page's ``days``)."""

    WEEK = 7
    MONTH = 30
    QUARTER = 90


PERIODS: Final = tuple(int(period) for period in Period)
SUPERVISORS: Final = (Role.SUPERVISOR,)
NOT_ELIGIBLE: Final = "not an active caseworker or supervisor of the child's district"


@dataclass(frozen=True)
class Summary:
    """Decisions in ``districts`` since ``since`` (UTC): by worker, district and reason."""

    districts: list[str]
    days: int
    since: datetime
    by_worker: list[Tally]
    by_district: list[Tally]
    by_reason: list[Tally]

    @property
    def decisions(self) -> int:
        return sum(t.decisions for t in self.by_district)

    @property
    def overrides(self) -> int:
        return sum(t.overrides for t in self.by_district)


def read_summary(service: Service, caller: Caller, days: int, district: str | None) -> Summary:
    """The decisions of the caller's districts (or the one asked) in the last ``days``
    days, counted; audited once per district (counts name no child)."""
    if days not in PERIODS:
        raise InvalidError("days", "period", f"days: one of {', '.join(map(str, PERIODS))}")
    districts = districts_asked(caller, district, Action.READ_SUPERVISION)
    since = utc_now() - timedelta(days=days)
    with service.engine.begin() as connection:
        by_worker, by_district, by_reason = (
            stored.tally(connection, districts, since, by)
            for by in ("user_name", "district", "reason_code")
        )
        for each in districts:
            caller.audit.allowed(connection, Action.READ_SUPERVISION, district=each)
    by_reason = [t for t in by_reason if t.key]  # decisions without a reason are no reason
    return Summary(districts, int(days), since, by_worker, by_district, by_reason)


@dataclass(frozen=True)
class Unreviewed:
    """The latest batch's flagged children with no decision since it (a first page of
    them, ``more`` when there are others), their current assignees, and whom each
    district's children may be assigned to."""

    batch: BatchSummary | None
    rows: list[dict[str, Any]]
    more: bool
    assignees: dict[str, str]
    eligible: dict[str, list[str]]


def read_unreviewed(
    service: Service, caller: Caller, district: str | None, limit: int
) -> Unreviewed:
    """The flagged children of the latest batch in the caller's districts that nobody
    has decided about since it, highest score first; each child listed audited."""
    districts = districts_asked(caller, district, Action.READ_QUEUE)
    with service.engine.begin() as connection:
        eligible = stored.eligible(connection, districts)
        batch = batches.latest_batch(connection)
        if batch is None:
            return Unreviewed(None, [], False, {}, eligible)
        rows, following = batches.queue(connection, batch, districts, None, True, True, limit, None)
        for row in rows:
            caller.audit.allowed(connection, Action.READ_QUEUE, row["child_id"], row["district"])
        assigned = stored.assignees(connection, [row["child_id"] for row in rows])
    return Unreviewed(batch, rows, following is not None, assigned, eligible)


def assign_child(
    service: Service, caller: Caller, child_id: str, assignee: str | None, note: str
) -> dict[str, Any]:
    """Give a child of the caller's districts to ``assignee`` (None: take it back from
    whoever has it), with a note; stored and audited. Only a supervisor assigns, only a
    child of their districts (else NotFoundError, as for any child out of reach), and only
    to an active caseworker or supervisor of the child's district: anyone else is
    InvalidError on ``assignee``, the refusal audited."""
    admit(caller, Action.ASSIGN_CHILD, SUPERVISORS)
    check(note, NOTE, "note")
    child = reach_child(caller, child_id, Action.ASSIGN_CHILD)
    with service.engine.begin() as connection:
        allowed = stored.eligible(connection, [child.district])[child.district]
        if assignee is None or (USER_NAME.matches(assignee) and assignee in allowed):
            row = stored.assign(
                connection, child_id, child.district, assignee, caller.principal.name, note
            )
            caller.audit.allowed(connection, Action.ASSIGN_CHILD, child_id, child.district)
            return row
    caller.audit.refused(Action.ASSIGN_CHILD, "denied", child_id, child.district)
    raise InvalidError("assignee", "assignee", f"assignee: {NOT_ELIGIBLE}", where="body")
