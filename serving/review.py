"""The linkage review queue as the API and the pages do it: records officers read the
open pairs and decide them, and answer caseworkers' link requests; caseworkers and
supervisors ask for a merge or a split from a child's page. The store's queries are
serving.store.review's; this module adds who may run them and the record that they did.

Who: the review is the records officers' (serving.vocabulary.REVIEW_ROLES). An officer
created with no district is city-wide; one with districts reaches the pairs where either
record's district is theirs, and the requests about their districts' children. A pair or
a request outside them answers exactly as one that does not exist (404), the refusal
audited, as serving.access does for a child. A request is made about a child the caller
reaches (serving.access.reach_child); a merge's other child is stored as named, never
looked up for the caller, so that a request says nothing about a child elsewhere (the
officers check it; it may well be a duplicate registered in another district).

Audit: a pair read or decided, a request read or answered, leaves a record per child
whose identity data it shows (both sides of a pair), in the same transaction as the read
or the write; a request made leaves one for the child it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import Connection

from serving.access import Caller, districts_asked, reach_child
from serving.audit import Action
from serving.errors import InvalidError, NotFoundError
from serving.service import Service
from serving.store import review as stored
from serving.store.children import find_child
from serving.store.queue import latest_batch
from serving.vocabulary import Evidence, LinkRequestKind

PAIR_NOT_FOUND: Final = "no such pair among your districts"
REQUEST_NOT_FOUND: Final = "no such request among your districts"
# what each comparison compared, of the records' values (features.linkage.review.SHOWN)
COMPARED: Final[dict[str, tuple[str, ...]]] = {
    "name": ("name",),
    "birth_date": ("birth_date",),
    "sex": ("sex",),
    "district": ("district",),
    "address": ("address",),
    "id_number": ("id_number",),
    "family": ("guardian_name", "guardian_phone"),
}
# a weight's size in bits (log2 of the Bayes factor): 7 bits multiply the odds by 128,
# 3 bits by 8; under half a bit a level hardly moved the pair
STRONG_BITS: Final = 7.0
CLEAR_BITS: Final = 3.0
WEAK_BITS: Final = 0.5


def evidence(level: str, weight: float) -> Evidence:
    """How far a compared field moved the pair, in the vocabulary's words: missing on a
    side, or towards one child or two, weakly, clearly or strongly by its weight."""
    if level == "missing":
        return Evidence.MISSING
    size = abs(weight)
    if size < WEAK_BITS:
        return Evidence.NEUTRAL
    if weight > 0:
        if size >= STRONG_BITS:
            return Evidence.AGREES_STRONGLY
        return Evidence.AGREES if size >= CLEAR_BITS else Evidence.AGREES_WEAKLY
    if size >= STRONG_BITS:
        return Evidence.DISAGREES_STRONGLY
    return Evidence.DISAGREES if size >= CLEAR_BITS else Evidence.DISAGREES_WEAKLY


def _with_evidence(pair: dict[str, Any]) -> dict[str, Any]:
    """The pair with each field's ``evidence`` and the values it compared on each side
    (``left`` and ``right``: the record's values joined by ' / ', None if none)."""
    for item in pair["fields"]:
        item["evidence"] = evidence(str(item["level"]), float(item["weight"]))
        shown = COMPARED.get(str(item["comparison"]), ())
        for side, record in (("left", pair["record_l"]), ("right", pair["record_r"])):
            values = [str(record[key]) for key in shown if record.get(key) not in (None, "")]
            item[side] = " / ".join(values) or None
    return pair


# ---- scope --------------------------------------------------------------------------------


def review_scope(caller: Caller, district: str | None, action: Action) -> list[str] | None:
    """The districts a read of the queue covers: None (the whole city) for a city-wide
    officer asking for no district; else as serving.access.districts_asked (a district
    not theirs is ForbiddenError, audited)."""
    if not caller.principal.districts:
        return None if district is None else [district]
    return districts_asked(caller, district, action)


def _reaches(caller: Caller, districts: Iterable[str | None]) -> bool:
    mine = caller.principal.districts
    return not mine or any(district in mine for district in districts if district)


def reach_pair(caller: Caller, pair_id: int, action: Action) -> dict[str, Any]:
    """The pair if it touches the caller's districts (any, for a city-wide officer);
    otherwise NotFoundError, the refusal audited as ``not_found`` or ``denied``."""
    with caller.audit.engine.connect() as connection:
        pair = stored.find_pair(connection, pair_id)
    if pair is not None and _reaches(caller, (pair["district_l"], pair["district_r"])):
        return pair
    if pair is None:
        caller.audit.refused(action, "not_found")
    else:
        caller.audit.refused(action, "denied", pair["child_id_l"], pair["district_l"])
    raise NotFoundError(PAIR_NOT_FOUND)


def reach_request(caller: Caller, request_id: int, action: Action) -> dict[str, Any]:
    """The link request if it is about a child of the caller's districts (any, for a
    city-wide officer); otherwise NotFoundError, the refusal audited."""
    with caller.audit.engine.connect() as connection:
        found = stored.find_request(connection, request_id)
    if found is not None and _reaches(caller, (found["district"],)):
        return found
    if found is None:
        caller.audit.refused(action, "not_found")
    else:
        caller.audit.refused(action, "denied", found["child_id"], found["district"])
    raise NotFoundError(REQUEST_NOT_FOUND)


def _audit_pair(
    caller: Caller, connection: Connection, action: Action, pair: dict[str, Any]
) -> None:
    """One record per child whose record the pair shows."""
    caller.audit.allowed(connection, action, pair["child_id_l"], pair["district_l"])
    caller.audit.allowed(connection, action, pair["child_id_r"], pair["district_r"])


# ---- pairs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewAsked:
    """Which part of the queue: a district (of the caller's, or any for a city-wide
    officer; None: all they reach), a page of ``limit`` from ``cursor``."""

    district: str | None = None
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class ReviewPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def read_review(service: Service, caller: Caller, asked: ReviewAsked) -> ReviewPage:
    """A page of the open pairs the caller reaches, most consequential first, each
    pair's two children audited as read. A cursor not issued here is InvalidError."""
    scope = review_scope(caller, asked.district, Action.READ_REVIEW)
    with service.engine.begin() as connection:
        batch = latest_batch(connection)
        rows, following = stored.open_pairs(
            connection, batch.id if batch else None, scope, asked.limit, asked.cursor
        )
        for row in rows:
            _audit_pair(caller, connection, Action.READ_REVIEW, row)
    return ReviewPage([_with_evidence(row) for row in rows], following)


def read_pair(service: Service, caller: Caller, pair_id: int) -> dict[str, Any]:
    """A pair the caller reaches, open or decided (``decided``: its latest decision);
    audited."""
    pair = reach_pair(caller, pair_id, Action.READ_REVIEW)
    with service.engine.begin() as connection:
        _audit_pair(caller, connection, Action.READ_REVIEW, pair)
    return _with_evidence(pair)


@dataclass(frozen=True)
class PairDecided:
    """What a records officer decided about two records: same, different or unsure, and
    a note."""

    decision: str
    note: str = ""


def decide_pair(
    service: Service, caller: Caller, pair_id: int, decided: PairDecided
) -> dict[str, Any]:
    """Append a decision on a pair the caller reaches (a later one supersedes); audited
    in the same transaction. A field that breaks its rule is InvalidError naming it."""
    pair = reach_pair(caller, pair_id, Action.DECIDE_PAIR)
    with service.engine.begin() as connection:
        row = stored.record_pair_decision(
            connection,
            (pair["source_l"], pair["record_id_l"]),
            (pair["source_r"], pair["record_id_r"]),
            decided.decision,
            decided.note,
            caller.principal.name,
        )
        _audit_pair(caller, connection, Action.DECIDE_PAIR, pair)
    return {**row, "pair_id": pair_id}


# ---- link requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkAsked:
    """What a caseworker asks: ``merge`` with the other child's id, or ``split``; why."""

    kind: str
    other_child_id: str | None
    reason: str


def request_link(
    service: Service, caller: Caller, child_id: str, asked: LinkAsked
) -> dict[str, Any]:
    """Append a request about a child the caller reaches, for the records officers;
    audited. The other child of a merge is stored as named (the module docstring)."""
    child = reach_child(caller, child_id, Action.REQUEST_LINK)
    who = caller.principal
    with service.engine.begin() as connection:
        row = stored.record_link_request(
            connection, child, asked.kind, asked.other_child_id, asked.reason, who.name, who.role
        )
        caller.audit.allowed(connection, Action.REQUEST_LINK, child.child_id, child.district)
    return row


def _named(request: dict[str, Any]) -> list[str]:
    return [c for c in (request["child_id"], request["other_child_id"]) if c]


def _with_children(
    caller: Caller, connection: Connection, action: Action, request: dict[str, Any]
) -> dict[str, Any]:
    """The request with who its children are (their identity and records), each child
    the store holds audited as read."""
    children = stored.requested_children(connection, _named(request))
    for child in children:
        if child["district"] is not None:
            caller.audit.allowed(connection, action, child["child_id"], child["district"])
    return {**request, "children": children}


def read_requests(
    service: Service, caller: Caller, district: str | None, limit: int
) -> list[dict[str, Any]]:
    """The open link requests the caller reaches, oldest first, with who their children
    are; each child shown audited."""
    scope = review_scope(caller, district, Action.READ_REVIEW)
    with service.engine.begin() as connection:
        rows = stored.open_requests(connection, scope, limit)
        return [_with_children(caller, connection, Action.READ_REVIEW, row) for row in rows]


def read_request(service: Service, caller: Caller, request_id: int) -> dict[str, Any]:
    """A link request the caller reaches, answered or not, with who its children are;
    audited."""
    request = reach_request(caller, request_id, Action.READ_REVIEW)
    with service.engine.begin() as connection:
        return _with_children(caller, connection, Action.READ_REVIEW, request)


@dataclass(frozen=True)
class RecordsDecided:
    """A decision on two records named by their keys (source, record_id)."""

    left: stored.RecordKey
    right: stored.RecordKey
    decision: str
    note: str = ""


def _check_records(
    connection: Connection, request: dict[str, Any], decided: RecordsDecided
) -> None:
    """Nothing if the two records answer the request: one of each child for a merge, two
    of the child for a split; otherwise InvalidError naming the rule."""
    if decided.left == decided.right:
        raise InvalidError("record_r", "records", "record_r: another record than record_l", "body")
    children = []
    for field, record in (("record_l", decided.left), ("record_r", decided.right)):
        child = stored.linked_child(connection, record)
        if child is None:
            raise InvalidError(field, "records", f"{field}: no record the linkage holds", "body")
        children.append(child)
    if request["kind"] == LinkRequestKind.MERGE:
        wanted, says = {request["child_id"], request["other_child_id"]}, "one record of each child"
    else:
        wanted, says = {request["child_id"]}, "two records of the child"
    if set(children) != wanted:
        raise InvalidError("records", "records", f"records: {says} the request names", "body")


def answer_request(
    service: Service, caller: Caller, request_id: int, decided: RecordsDecided
) -> dict[str, Any]:
    """Answer a request the caller reaches with a decision on two of its children's
    records (the request leaves the open list); audited in the same transaction."""
    request = reach_request(caller, request_id, Action.DECIDE_PAIR)
    with service.engine.begin() as connection:
        _check_records(connection, request, decided)
        row = stored.record_pair_decision(
            connection,
            decided.left,
            decided.right,
            decided.decision,
            decided.note,
            caller.principal.name,
            request_id,
        )
        for child_id in _named(request):
            child = find_child(connection, child_id)
            if child is not None:
                caller.audit.allowed(connection, Action.DECIDE_PAIR, child_id, child.district)
    return row
