"""Record corrections: a record marked wrong, amended or expunged, honoured everywhere.

Why: a record that is wrong keeps raising a child's score for as long as it is used,
and critics of every deployed tool found no way to amend it. The original is never
overwritten (it may be the evidence behind a decision already taken): a correction is
its own row, kept by the store (serving.store.corrections), and every reading of case
histories applies the corrections it was given, by this module's one function,
``apply_corrections``: the service's scores, evidence and batches (which read the store)
and the feature tables and training sets built from an export folder (which read an
exported corrections file, ``riskflag db corrections --out FILE``, given as
``--corrections FILE``). A table or a model says which corrections it saw by their
``digest``.

How, per record (by ``event_id``), the latest correction's kind rules, except that an
expunged record stays gone; a field amended by several corrections takes the latest
amendment (a correction states what it changes, not the whole record):

- ``disputed``: confirmed wrong, with a reason and who confirmed it: not used (no
  feature counts it) but still listed, marked, in the child's history;
- ``corrected``: used in its amended form (``amended``: the contract fields the source
  confirmed otherwise, as JSON, each the contract's text form of its value);
- ``expunged``: by the retention policy or an order (its reference): gone from every
  output, the history included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

import features.schema as s

if TYPE_CHECKING:
    from features.contract import CaseHistories


class CorrectionKind(StrEnum):
    """What a correction says of a record."""

    DISPUTED = "disputed"
    CORRECTED = "corrected"
    EXPUNGED = "expunged"


KINDS: Final = tuple(kind.value for kind in CorrectionKind)
UNUSED: Final = (CorrectionKind.DISPUTED.value, CorrectionKind.EXPUNGED.value)
# the fields a source can confirm otherwise; never the ids, nor when it was recorded
AMENDABLE: Final = (s.EVENT_TYPE, s.OCCURRED_AT, s.SEVERITY, s.AMOUNT, s.DETAIL)
# what a corrections file holds: no reasons or names (they are the store's, audited)
SCHEMA: Final = pl.Schema(
    {  # type: ignore[arg-type]
        "id": pl.Int64,
        s.EVENT_ID: pl.String,
        "kind": pl.String,
        "amended": pl.String,
        "created_at": pl.Datetime("us"),
    }
)
EMPTY_DIGEST: Final = hashlib.sha256(b"").hexdigest()


class CorrectionError(ValueError):
    """A correction or a corrections file that cannot be used; says which and why."""


def current(corrections: pl.DataFrame) -> pl.DataFrame:
    """One row per corrected record: its latest kind (expunged, once it was) and every
    field its corrections amended, a later amendment of a field over an earlier one."""
    if corrections.is_empty():
        return corrections
    latest: dict[str, dict[str, Any]] = {}
    for row in corrections.sort("id").iter_rows(named=True):
        held = latest.setdefault(row[s.EVENT_ID], {**row, "fields": {}})
        if held["kind"] != CorrectionKind.EXPUNGED.value:
            held.update(id=row["id"], kind=row["kind"], created_at=row["created_at"])
        held["fields"].update(parse_amended(row["amended"]))
    rows = [
        {**held, "amended": amended_text(held.pop("fields")) if held["fields"] else None}
        for held in latest.values()
    ]
    return pl.DataFrame(rows, schema=SCHEMA)


def apply_corrections(events: pl.LazyFrame, corrections: pl.DataFrame) -> pl.LazyFrame:
    """``events`` as the corrections say they are: disputed and expunged records left
    out, corrected ones in their amended form (same columns, same types)."""
    latest = current(corrections)
    if latest.is_empty():
        return events
    unused = latest.filter(pl.col("kind").is_in(UNUSED))[s.EVENT_ID]
    kept = events.filter(~pl.col(s.EVENT_ID).is_in(unused.implode()))
    amended = _amended_frame(latest.filter(pl.col("kind") == CorrectionKind.CORRECTED.value))
    if amended.is_empty():
        return kept
    columns = kept.collect_schema().names()
    joined = kept.join(amended.lazy(), on=s.EVENT_ID, how="left")
    return joined.with_columns(
        pl.when(pl.col(f"has_{name}"))
        .then(pl.col(f"new_{name}"))
        .otherwise(pl.col(name))
        .alias(name)
        for name in AMENDABLE
    ).select(columns)


def _amended_frame(corrected: pl.DataFrame) -> pl.DataFrame:
    """Per corrected record, each amendable field's new value (``new_*``, typed as the
    contract types it) and whether it was amended (``has_*``)."""
    rows = [
        (event_id, parse_amended(text))
        for event_id, text in corrected.select(s.EVENT_ID, "amended").iter_rows()
    ]
    columns: dict[str, pl.Series] = {s.EVENT_ID: pl.Series([e for e, _ in rows], dtype=pl.String)}
    for name in AMENDABLE:
        values = [typed_value(name, fields.get(name)) for _, fields in rows]
        columns[f"new_{name}"] = pl.Series(values, dtype=s.EVENTS_SCHEMA[name])
        columns[f"has_{name}"] = pl.Series([name in fields for _, fields in rows], dtype=pl.Boolean)
    return pl.DataFrame(columns)


def parse_amended(text: str | None) -> dict[str, Any]:
    """The amended fields of a correction (a JSON object of contract fields)."""
    if text is None or text == "":
        return {}
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorrectionError(f"amended: not JSON ({exc.msg})") from None
    if not isinstance(fields, dict):
        raise CorrectionError("amended: a JSON object of contract fields")
    unknown = sorted(set(fields) - set(AMENDABLE))
    if unknown:
        raise CorrectionError(
            f"amended: {unknown[0]!r} cannot be amended (only {', '.join(AMENDABLE)})"
        )
    return fields


def typed_value(name: str, value: Any) -> Any:
    """A contract field's text (or JSON number) as the events table types it."""
    if value is None:
        return None
    try:
        if name == s.OCCURRED_AT:
            return datetime.fromisoformat(str(value))
        if name == s.SEVERITY:
            return int(value)
        if name == s.AMOUNT:
            return float(value)
    except ValueError:
        raise CorrectionError(f"amended.{name}: {value!r} is not a valid value") from None
    return str(value)


def amended_text(fields: Mapping[str, Any]) -> str:
    """The canonical JSON of amended fields (sorted keys), as stored and digested."""
    return json.dumps(dict(sorted(fields.items())), ensure_ascii=False, separators=(",", ":"))


def digest(corrections: pl.DataFrame) -> str:
    """SHA-256 over the corrections (id, record, kind, amended fields), in id order: what
    a feature table or a model says it saw. No corrections: the SHA-256 of nothing."""
    if corrections.is_empty():
        return EMPTY_DIGEST
    hasher = hashlib.sha256()
    for row in corrections.sort("id").select("id", s.EVENT_ID, "kind", "amended").iter_rows():
        hasher.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return hasher.hexdigest()


def provenance(corrections: pl.DataFrame) -> dict[str, Any]:
    """What a table or model records of the corrections it was built with."""
    return {"count": corrections.height, "sha256": digest(corrections)}


def read_file(path: Path) -> pl.DataFrame:
    """A corrections file (CSV, as ``riskflag db corrections --out`` writes it), checked:
    its columns, kinds and amended fields."""
    try:
        frame = pl.read_csv(path, schema=SCHEMA, try_parse_dates=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise CorrectionError(f"{path}: not a corrections file ({exc})") from None
    bad = frame.filter(~pl.col("kind").is_in(KINDS) | pl.col(s.EVENT_ID).is_null())
    if bad.height:
        raise CorrectionError(
            f"{path}: row id {bad['id'][0]}: needs an event_id and a kind of {', '.join(KINDS)}"
        )
    for event_id, text in frame.select(s.EVENT_ID, "amended").iter_rows():
        try:
            for name, value in parse_amended(text).items():
                typed_value(name, value)
        except CorrectionError as exc:
            raise CorrectionError(f"{path}: record {event_id}: {exc}") from None
    return frame


def corrected(histories: CaseHistories, corrections: pl.DataFrame) -> CaseHistories:
    """``histories`` with ``corrections`` applied to its events, and saying so."""
    return replace(
        histories,
        events=apply_corrections(histories.events, corrections),
        corrections=provenance(corrections),
    )
