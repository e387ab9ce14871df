"""Correcting a stored record, and the child's score before and after: the one path the
API and the pages take.

Who: a supervisor, within their districts, or a records officer, within theirs (or the
whole city, given none). A record outside them answers as one that does not exist, and
the refusal is audited. What: features.corrections' kinds, each with a reason, who
confirmed it and a reference (the source's confirmation, the retention rule or the order);
a correction's amended fields are checked by the data contract's own rules, as an export
would be. An expunged record cannot be corrected again.

The score is recomputed at once, by the one scoring path (serving.explain) on the
household read as it is and as it will be with the correction (serving.store.load's
``pending``), on the date the child page shows (the latest batch's, else the export's);
both scores, and the factors whose points moved, are stored with the correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

import features.corrections as fc
import features.schema as s
from features.contract import ContractError, check_tables
from serving.access import Caller, reach_child
from serving.audit import Action
from serving.errors import ConflictError, InvalidError, NotFoundError
from serving.rescore import rescore as rescored
from serving.service import Service
from serving.store import children as stored
from serving.store import corrections as corrections_store
from serving.store.load import read_frames
from serving.vocabulary import Role

RECORD_NOT_FOUND: Final = "no such record among your districts"
MAX_REASON: Final = 2000
MAX_REFERENCE: Final = 256
MAX_CONFIRMED_BY: Final = 128


@dataclass(frozen=True)
class Asked:
    """A correction as asked: its kind, why, who confirmed it and the reference; for
    ``corrected``, the amended fields (contract field -> its new value as text, or None
    to clear an optional field)."""

    kind: str
    reason: str
    confirmed_by: str
    reference: str
    amended: Mapping[str, str | None] = field(default_factory=dict)


def reach_record(caller: Caller, event_id: str, action: Action) -> dict[str, Any]:
    """The record if its child is in one of the caller's districts (any, for a records
    officer given none); otherwise NotFoundError, the refusal audited."""
    with caller.audit.engine.connect() as connection:
        record = corrections_store.find_record(connection, event_id)
    mine = caller.principal.districts
    city_wide = caller.principal.role == Role.RECORDS_OFFICER and not mine
    if record is not None and (city_wide or record["district"] in mine):
        return record
    if record is None:
        caller.audit.refused(action, "not_found")
    else:
        caller.audit.refused(action, "denied", record["child_id"], record["district"])
    raise NotFoundError(RECORD_NOT_FOUND)


def correct_record(service: Service, caller: Caller, event_id: str, asked: Asked) -> dict[str, Any]:
    """Check, rescore and store a correction of a reachable record; audited. A field
    that breaks its rule is InvalidError naming it; correcting an expunged record is
    ConflictError (code ``expunged``)."""
    record = reach_record(caller, event_id, Action.CORRECT_RECORD)
    said = _checked(service, record, asked)
    with service.engine.connect() as connection:
        if corrections_store.is_expunged(connection, event_id):
            caller.audit.refused(
                Action.CORRECT_RECORD, "conflict", record["child_id"], record["district"]
            )
            raise ConflictError("the record was expunged: it cannot be corrected", "expunged")
    rescored = rescore(service, record, said)
    with service.engine.begin() as connection:
        row = corrections_store.record_correction(
            connection,
            record,
            {**said, "recorded_by": caller.principal.name, "role": caller.principal.role},
            rescored,
        )
        caller.audit.allowed(
            connection, Action.CORRECT_RECORD, record["child_id"], record["district"]
        )
    return {**row, "moved": list(rescored.moved) if rescored else []}


def _checked(service: Service, record: Mapping[str, Any], asked: Asked) -> dict[str, Any]:
    """The correction's stored fields, or InvalidError naming the first broken rule."""
    if asked.kind not in fc.KINDS:
        raise InvalidError("kind", "one_of", f"kind: one of {', '.join(fc.KINDS)}", "body")
    # length and NUL are the edges' rules (the API's fields, the pages' forms: MAX_*)
    for name, value in (
        ("reason", asked.reason),
        ("confirmed_by", asked.confirmed_by),
        ("reference", asked.reference),
    ):
        if not value.strip():
            raise InvalidError(name, "required", f"{name}: required", "body")
    amended = dict(asked.amended)
    if (asked.kind == fc.CorrectionKind.CORRECTED) != bool(amended):
        raise InvalidError(
            "amended",
            "with_corrected",
            "amended: fields to amend with kind corrected, and only then",
            "body",
        )
    if amended:
        _check_amended(service, record, amended)
    return {
        "kind": asked.kind,
        "amended": fc.amended_text(amended) if amended else None,
        "reason": asked.reason,
        "confirmed_by": asked.confirmed_by,
        "reference": asked.reference,
    }


def _check_amended(service: Service, record: Mapping[str, Any], amended: dict[str, Any]) -> None:
    """The record with ``amended`` applied, held to the data contract's rules with its
    child's row (as an export of it would be)."""
    try:
        fc.parse_amended(fc.amended_text(amended))
        typed = {name: fc.typed_value(name, value) for name, value in amended.items()}
    except fc.CorrectionError as exc:
        raise InvalidError("amended", "amendable", str(exc), "body") from None
    children, events = read_frames(service.engine, [record["child_id"]])
    event = events.filter(pl.col(s.EVENT_ID) == record["event_id"])
    if event.is_empty():  # disputed: read_frames leaves it out; check its stored form
        event = _stored_event(record)
    try:
        event = event.with_columns(
            pl.lit(value, dtype=s.EVENTS_SCHEMA[name]).alias(name) for name, value in typed.items()
        )
        check_tables(children, event, service.deployment, source="correction")
    except (ContractError, pl.exceptions.PolarsError) as exc:
        report = getattr(exc, "report", None)
        message = report.format_text() if report is not None else str(exc)
        raise InvalidError(
            "amended",
            "contract",
            f"amended: breaks the data contract ({_first_line(message)})",
            "body",
        ) from None


def _stored_event(record: Mapping[str, Any]) -> pl.DataFrame:
    row = {name: record[name] for name in s.EVENTS_COLUMNS}
    return pl.DataFrame([row], schema=s.EVENTS_SCHEMA)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "invalid"


def rescore(
    service: Service, record: Mapping[str, Any], said: Mapping[str, Any]
) -> corrections_store.Rescored | None:
    """The child's score before and after the correction (serving.rescore)."""
    child = stored.ChildRef(record["child_id"], record["district"], record["household_id"])
    pending = pl.DataFrame(
        [{"id": 2**62, "event_id": record["event_id"], "kind": said["kind"],
          "amended": said["amended"], "created_at": None}],
        schema=fc.SCHEMA,
    )  # fmt: skip
    return rescored(service, child, pending=pending)


def read_corrections(service: Service, caller: Caller, child_id: str) -> list[dict[str, Any]]:
    """The corrections of a reachable child's records, newest first; audited as a read
    of the child's history."""
    child = reach_child(caller, child_id, Action.READ_HISTORY)
    with service.engine.begin() as connection:
        ids = stored.merged_with(connection, child_id)
        rows = corrections_store.of_children(connection, ids)
        caller.audit.allowed(connection, Action.READ_HISTORY, child_id, child.district)
    return rows


def read_record(service: Service, caller: Caller, event_id: str) -> dict[str, Any]:
    """A reachable record as loaded, with its corrections (newest first), for the
    correction form; audited as a read of its child's history."""
    record = reach_record(caller, event_id, Action.READ_HISTORY)
    with service.engine.begin() as connection:
        said = [
            row
            for row in corrections_store.of_children(connection, [record["child_id"]])
            if row["event_id"] == event_id
        ]
        caller.audit.allowed(
            connection, Action.READ_HISTORY, record["child_id"], record["district"]
        )
    return {**record, "corrections": said}
