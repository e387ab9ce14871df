"""The linkage review queue in the store: the open pairs, most consequential first, the
records officers' pair decisions, caseworkers' link requests, and the decisions as the
next `riskflag link --decisions` reads them.

A pair is open while it is in ``review_pairs`` (the latest linked load's) and no pair
decision names its two records, in either order. The queue's order is what a mistake
would cost: first the pairs where exactly one of the two children is flagged in the
latest batch (linking them would put a flagged child's records with an unflagged
child's, and so change a flag), then those where both are, then the rest; within each,
the most probable first, then the oldest pair. A page is found by a cursor holding the
last row's (rank, probability, id), parsed back strictly as serving.store.queue parses
its own: anything else was not issued here.

Who may run these, and the audit record that they did, are the caller's
(serving.review), in the same transaction as the read or the write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from sqlalchemy import ColumnElement, and_, case, exists, insert, or_, select
from sqlalchemy.engine import Connection

from serving.clock import utc_now
from serving.errors import InvalidError
from serving.limits import NOTE, Rule
from serving.store import cursors
from serving.store.children import ChildRef
from serving.store.tables import (
    CHILDREN,
    IDENTITIES,
    LINK_REQUESTS,
    LINKS,
    PAIR_DECISIONS,
    REVIEW_PAIRS,
    SCORES,
)
from serving.vocabulary import LinkRequestKind, PairDecision, codes

MAX_NOTE: Final = NOTE.max_length
# a request's reason: required (the officers act on it), as long as a note, no NUL
REASON: Final = Rule("text", 1, NOTE.max_length, NOTE.pattern, "1-4000 characters, no NUL")
# the queue's ranks: exactly one child flagged, both flagged, neither
CHANGES_A_FLAG, BOTH_FLAGGED, NEITHER_FLAGGED = 0, 1, 2
MAX_ID: Final = 2**31 - 1
RECORD_KEYS: Final = ("source_l", "record_id_l", "source_r", "record_id_r")
EXPORT_COLUMNS: Final = (*RECORD_KEYS, "decision")
JSON_COLUMNS: Final = ("record_l", "record_r", "fields")

RecordKey = tuple[str, str]  # (source, record_id)


def _invalid(field: str, rule: str, says: str) -> NoReturn:
    """A body field that breaks its rule (the API's and the form's alike)."""
    raise InvalidError(field, rule, f"{field}: {says}", where="body")


def _check_text(value: str, rule: Rule, field: str) -> None:
    if not rule.matches(value):
        _invalid(field, rule.name, rule.says)


# ---- the queue ----------------------------------------------------------------------------


def _decided(left: tuple[Any, Any], right: tuple[Any, Any]) -> ColumnElement[bool]:
    """Whether a pair decision names the records ``left`` and ``right`` (columns or
    values: source, record_id), in either order."""
    d = PAIR_DECISIONS.c

    def names(a: tuple[Any, Any], b: tuple[Any, Any]) -> ColumnElement[bool]:
        return and_(
            d.source_l == a[0], d.record_id_l == a[1], d.source_r == b[0], d.record_id_r == b[1]
        )

    return or_(names(left, right), names(right, left))


def _ranked(batch_id: int | None) -> Any:
    """The open pairs with their rank (CHANGES_A_FLAG, BOTH_FLAGGED, NEITHER_FLAGGED)
    against the batch ``batch_id`` (None: no batch yet, every pair NEITHER_FLAGGED)."""
    p = REVIEW_PAIRS.c
    left, right = SCORES.alias("score_l"), SCORES.alias("score_r")

    def flagged(score: Any) -> Any:
        return case((score.c.flagged.is_(True), 1), else_=0)

    both = flagged(left) + flagged(right)
    rank = case((both == 1, CHANGES_A_FLAG), (both == 2, BOTH_FLAGGED), else_=NEITHER_FLAGGED)
    return (
        select(REVIEW_PAIRS, rank.label("rank"))
        .join(
            left,
            and_(left.c.batch_id == batch_id, left.c.child_id == p.child_id_l),
            isouter=True,
        )
        .join(
            right,
            and_(right.c.batch_id == batch_id, right.c.child_id == p.child_id_r),
            isouter=True,
        )
        .where(~exists().where(_decided((p.source_l, p.record_id_l), (p.source_r, p.record_id_r))))
        .subquery("ranked")
    )


def open_pairs(
    connection: Connection,
    batch_id: int | None,
    districts: Sequence[str] | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the open pairs touching ``districts`` (either side's district; None:
    the whole city), most consequential first (the module docstring), and the cursor of
    the next page (None on the last). A cursor not issued here is InvalidError."""
    ranked = _ranked(batch_id)
    r = ranked.c
    query = select(ranked).order_by(r.rank, r.match_probability.desc(), r.id).limit(limit + 1)
    if districts is not None:
        chosen = list(districts)
        query = query.where(or_(r.district_l.in_(chosen), r.district_r.in_(chosen)))
    if cursor:
        rank, probability, pair_id = cursor_decode(cursor)
        query = query.where(
            or_(
                r.rank > rank,
                and_(r.rank == rank, r.match_probability < probability),
                and_(r.rank == rank, r.match_probability == probability, r.id > pair_id),
            )
        )
    rows = [_parsed(dict(row)) for row in connection.execute(query).mappings()]
    page, more = rows[:limit], len(rows) > limit
    following = None
    if more and page:
        last = page[-1]
        following = cursor_encode(last["rank"], last["match_probability"], last["id"])
    return page, following


def find_pair(connection: Connection, pair_id: int) -> dict[str, Any] | None:
    """The pair ``pair_id`` of the latest linked load, open or decided (None if there is
    none), with its latest decision (``decided``: a row of pair_decisions, or None)."""
    found = connection.execute(select(REVIEW_PAIRS).where(REVIEW_PAIRS.c.id == pair_id))
    row = found.mappings().first()
    if row is None:
        return None
    pair = _parsed(dict(row))
    pair["decided"] = latest_decision(
        connection, (pair["source_l"], pair["record_id_l"]), (pair["source_r"], pair["record_id_r"])
    )
    return pair


def latest_decision(
    connection: Connection, left: RecordKey, right: RecordKey
) -> dict[str, Any] | None:
    """The latest decision naming the records ``left`` and ``right`` (either order)."""
    query = select(PAIR_DECISIONS).where(_decided(left, right)).order_by(PAIR_DECISIONS.c.id.desc())
    row = connection.execute(query.limit(1)).mappings().first()
    return dict(row) if row else None


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    """A stored pair with its JSON columns read (the records' values, the fields)."""
    for column in JSON_COLUMNS:
        row[column] = json.loads(row[column])
    return row


def cursor_encode(rank: int, probability: float, pair_id: int) -> str:
    return cursors.encode(rank, probability, pair_id)


def cursor_decode(cursor: str) -> tuple[int, float, int]:
    """The position a cursor holds, parsed strictly: a rank, a probability in [0, 1] and a
    pair id, exactly as cursor_encode writes them. Anything else was not issued here."""
    position = cursors.position(cursor, 3)
    if position is not None:
        rank, probability, pair_id = position
        if (
            type(rank) is int  # bool is an int subclass: excluded
            and rank in (CHANGES_A_FLAG, BOTH_FLAGGED, NEITHER_FLAGGED)
            and type(probability) in (int, float)
            and 0.0 <= probability <= 1.0  # NaN fails too
            and type(pair_id) is int
            and 1 <= pair_id <= MAX_ID
        ):
            return rank, float(probability), pair_id
    cursors.refused()


# ---- decisions ----------------------------------------------------------------------------


def record_pair_decision(
    connection: Connection,
    left: RecordKey,
    right: RecordKey,
    decision: str,
    note: str,
    user_name: str,
    request_id: int | None = None,
) -> dict[str, Any]:
    """Append a decision on the records ``left`` and ``right`` (in the caller's
    transaction); a later one on the same pair supersedes it. A field that breaks its
    rule is InvalidError naming it."""
    if decision not in codes(PairDecision):
        _invalid("decision", "decision", f"one of {', '.join(codes(PairDecision))}")
    _check_text(note, NOTE, "note")
    values = {
        "source_l": left[0],
        "record_id_l": left[1],
        "source_r": right[0],
        "record_id_r": right[1],
        "decision": decision,
        "note": note,
        "request_id": request_id,
        "user_name": user_name,
        "created_at": utc_now(),
    }
    inserted = insert(PAIR_DECISIONS).values(**values).returning(PAIR_DECISIONS.c.id)
    decision_id = connection.execute(inserted).scalar_one()
    return {"id": decision_id, **values}


def decisions_for_link(connection: Connection) -> list[dict[str, str]]:
    """The latest decision on each pair of records (either order is one pair), oldest
    first: the rows of the file `riskflag link --decisions` reads (record keys and the
    decision; no note, no name)."""
    rows = connection.execute(
        select(*(PAIR_DECISIONS.c[c] for c in EXPORT_COLUMNS)).order_by(PAIR_DECISIONS.c.id)
    ).mappings()
    latest: dict[tuple[RecordKey, RecordKey], dict[str, str]] = {}
    for row in rows:
        left = (str(row["source_l"]), str(row["record_id_l"]))
        right = (str(row["source_r"]), str(row["record_id_r"]))
        key = (min(left, right), max(left, right))
        latest.pop(key, None)  # re-inserted: the dict keeps the latest decisions' order
        latest[key] = {c: str(row[c]) for c in EXPORT_COLUMNS}
    return list(latest.values())


# ---- link requests ------------------------------------------------------------------------


def record_link_request(
    connection: Connection,
    child: ChildRef,
    kind: str,
    other_child_id: str | None,
    reason: str,
    user_name: str,
    role: str,
) -> dict[str, Any]:
    """Append a caseworker's request about ``child`` (in the caller's transaction): a
    ``merge`` names the other child, a ``split`` names none; the reason is required."""
    if kind not in codes(LinkRequestKind):
        _invalid("kind", "kind", f"one of {', '.join(codes(LinkRequestKind))}")
    if kind == LinkRequestKind.MERGE and not other_child_id:
        _invalid("other_child_id", "required", "required for a merge (the other child's id)")
    if kind == LinkRequestKind.MERGE and other_child_id == child.child_id:
        _invalid("other_child_id", "other", "another child than this one")
    if kind == LinkRequestKind.SPLIT and other_child_id:
        _invalid("other_child_id", "merge_only", "only for a merge")
    _check_text(reason, REASON, "reason")
    if not reason.strip():
        _invalid("reason", REASON.name, REASON.says)
    values = {
        "kind": kind,
        "child_id": child.child_id,
        "other_child_id": other_child_id or None,
        "district": child.district,
        "reason": reason,
        "user_name": user_name,
        "role": role,
        "created_at": utc_now(),
    }
    inserted = insert(LINK_REQUESTS).values(**values).returning(LINK_REQUESTS.c.id)
    request_id = connection.execute(inserted).scalar_one()
    return {"id": request_id, **values}


def _answered() -> ColumnElement[bool]:
    return exists().where(PAIR_DECISIONS.c.request_id == LINK_REQUESTS.c.id)


def open_requests(
    connection: Connection, districts: Sequence[str] | None, limit: int
) -> list[dict[str, Any]]:
    """The requests no pair decision has answered yet, of ``districts`` (the requesting
    child's district; None: the whole city), oldest first."""
    query = select(LINK_REQUESTS).where(~_answered()).order_by(LINK_REQUESTS.c.id).limit(limit)
    if districts is not None:
        query = query.where(LINK_REQUESTS.c.district.in_(list(districts)))
    return [dict(row) for row in connection.execute(query).mappings()]


def find_request(connection: Connection, request_id: int) -> dict[str, Any] | None:
    """The request ``request_id``, answered or not (``answered``: whether a pair decision
    names it), or None."""
    query = select(LINK_REQUESTS, _answered().label("answered")).where(
        LINK_REQUESTS.c.id == request_id
    )
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def requested_children(connection: Connection, child_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Who each child a request names is, for the officer answering it: district, identity
    and linked records (``source``, ``record_id``, ``how``), in the order given; a child
    the store does not hold has ``district`` None and no records."""
    out = []
    for child_id in child_ids:
        place = connection.execute(
            select(CHILDREN.c.district).where(CHILDREN.c.child_id == child_id)
        ).scalar()
        identity = (
            connection.execute(select(IDENTITIES).where(IDENTITIES.c.child_id == child_id))
            .mappings()
            .first()
        )
        records = connection.execute(
            select(LINKS.c.source, LINKS.c.record_id, LINKS.c.how)
            .where(LINKS.c.child_id == child_id)
            .order_by(LINKS.c.source, LINKS.c.record_id)
        ).mappings()
        known = dict(identity) if identity else {}
        out.append(
            {
                **{key: known.get(key) for key in ("name", "id_number", "birth_date", "sex")},
                "child_id": child_id,
                "district": place,
                "records": [dict(record) for record in records],
            }
        )
    return out


def linked_child(connection: Connection, record: RecordKey) -> str | None:
    """The child the latest linkage joined the record ``record`` to (None: no such record)."""
    found = connection.execute(
        select(LINKS.c.child_id).where(LINKS.c.source == record[0], LINKS.c.record_id == record[1])
    ).scalar()
    return str(found) if found is not None else None
