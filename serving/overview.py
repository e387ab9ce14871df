"""What a caseworker reads first about a child, before any factor: whether a welfare case
is open and since when, the last contact, and what changed since the batch before (the
records recorded since its date, and how the score moved).

Read from the child's history as the page already holds it (serving.cases.read_history,
audited there) and the child's stored scores (serving.store.changes): no second read of
the child's records, and nothing a model computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from features.corrections import CorrectionKind
from serving.store.changes import PastScore

CASE_OPENED: Final = "welfare.case_opened"
CASE_CLOSED: Final = "welfare.case_closed"
# a contact: someone from the division or its partners saw the child or the family
CONTACTS: Final = ("community.home_visit", "welfare.investigation_opened", "welfare.finding")
SEVERE: Final = 3  # the highest level of the contract's 0-3 and 1-3 scales
DISABILITY: Final = "health.disability_certified"  # its 1-4 is a level, not a severity
SHOWN_CHANGES: Final = 5


@dataclass(frozen=True)
class Overview:
    case_open_since: datetime | None  # the open case's opening, None if no case is open
    last_contact: dict[str, Any] | None  # the latest contact record
    previous: PastScore | None  # the child's score in the batch before the latest
    new_records: list[dict[str, Any]]  # recorded after the previous batch's date, newest first

    @property
    def moved(self) -> bool:
        return self.previous is not None


def overview(history: Mapping[str, list[dict[str, Any]]], scores: list[PastScore]) -> Overview:
    """The overview from the child's history (by source) and stored scores (newest
    first: the latest batch's, then the one before)."""
    events = sorted(_all(history), key=lambda e: (e["occurred_at"], e["event_id"]))
    previous = scores[1] if len(scores) > 1 else None
    since = _start_of(previous.as_of) if previous else None
    new = [e for e in events if since is not None and e["recorded_at"] > since]
    return Overview(
        case_open_since=_open_case(events),
        last_contact=next((e for e in reversed(events) if e["event_type"] in CONTACTS), None),
        previous=previous,
        new_records=sorted(new, key=lambda e: e["recorded_at"], reverse=True)[:SHOWN_CHANGES],
    )


def _all(history: Mapping[str, list[dict[str, Any]]]) -> Iterable[dict[str, Any]]:
    """The history's records in use (a disputed record, confirmed wrong, is not)."""
    return (
        event
        for rows in history.values()
        for event in rows
        if event.get("correction") != CorrectionKind.DISPUTED
    )


def _open_case(events: list[dict[str, Any]]) -> datetime | None:
    """When the case open now was opened: the latest opening with no closing after it."""
    opened: datetime | None = None
    for event in events:
        if event["event_type"] == CASE_OPENED:
            opened = opened or event["occurred_at"]
        elif event["event_type"] == CASE_CLOSED:
            opened = None
    return opened


def _start_of(day: date) -> datetime:
    """A batch's as-of date as the instant its features saw records up to: midnight, in
    the deployment's naive local time, as serving.store keeps event times."""
    return datetime(day.year, day.month, day.day)


def is_severe(event: Mapping[str, Any]) -> bool:
    """A record at the top of its severity scale (a disability's level is not a
    severity of what happened, and is never marked)."""
    if event.get("severity") is None or event.get("event_type") == DISABILITY:
        return False
    return int(event["severity"]) >= SEVERE
