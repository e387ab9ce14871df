"""Turning columns as written into the contract's types, row by row.

A CSV column is text and is parsed; a parquet column is used as written when its type
fits, parsed like CSV when it is text, and refused as a whole when its type cannot hold
the contract's values (an integer birth_date, say). Each coercion returns the typed
column and a mask of the rows whose value could not be read as that type.

A ``partial_date`` (a birth date known to the day, the month or the year only) stays
text, ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``: ``partial_date_bounds`` gives the first
and last day it allows, for the rules to check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from features import schema as s
from features.contract.files import ReadError

ColumnKind = Literal["string", "date", "partial_date", "timestamp", "integer", "number"]

# the contract tables' typed columns (the rest are text), and each table's identifier
COLUMN_KINDS: dict[str, dict[str, ColumnKind]] = {
    s.CHILDREN: {s.BIRTH_DATE: "date"},
    s.EVENTS: {
        s.OCCURRED_AT: "timestamp",
        s.RECORDED_AT: "timestamp",
        s.SEVERITY: "integer",
        s.AMOUNT: "number",
    },
}
UNIQUE_COLUMNS = {s.CHILDREN: s.CHILD_ID, s.EVENTS: s.EVENT_ID}

# ISO-8601 spellings accepted for timestamps, most common first; the date-only one means
# midnight local time.
NAIVE_TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H",  # hour only, as Arrow's ISO-8601 cast also accepts
    "%Y-%m-%d %H",
)
ZONED_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")

EXPECTED = {
    "string": "text",
    "date": "a date (YYYY-MM-DD)",
    "partial_date": "a date (YYYY-MM-DD, YYYY-MM or YYYY)",
    "timestamp": "an ISO-8601 timestamp",
    "integer": "an integer",
    "number": "a number",
}


@dataclass(frozen=True)
class Coerced:
    values: pl.Series
    unreadable: pl.Series  # True where a value was present but could not be read as the type


def coerce(raw: pl.Series, kind: ColumnKind, timezone: str, file: str) -> Coerced:
    """Coerce one column; a parquet column whose type cannot fit raises ReadError."""
    values, unreadable = _coerce(raw, kind, timezone, file)
    if unreadable is None:
        unreadable = pl.repeat(False, len(raw), dtype=pl.Boolean, eager=True)
    return Coerced(values, unreadable.fill_null(False))


def _coerce(
    raw: pl.Series, kind: ColumnKind, timezone: str, file: str
) -> tuple[pl.Series, pl.Series | None]:
    dtype = raw.dtype
    if dtype == pl.String:
        return _parse_text(raw, kind, timezone)
    if dtype == pl.Null:
        nulls = pl.repeat(None, len(raw), dtype=TARGET_DTYPES[kind], eager=True)
        return (nulls.alias(raw.name), None)
    if kind == "string" and isinstance(dtype, pl.Categorical | pl.Enum):
        return (raw.cast(pl.String), None)
    if kind == "date" and dtype == pl.Date:
        return (raw, None)
    if kind == "date" and isinstance(dtype, pl.Datetime):
        local = _naive_local(raw, timezone)
        return (local.dt.date(), local.dt.time() != time(0))
    if kind == "partial_date" and (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
        days, unreadable = _coerce(raw, "date", timezone, file)
        return (days.dt.to_string("%Y-%m-%d"), unreadable)
    if kind == "timestamp" and isinstance(dtype, pl.Datetime):
        return (_naive_local(raw, timezone).cast(pl.Datetime("us")), None)
    if kind == "timestamp" and dtype == pl.Date:
        return (raw.cast(pl.Datetime("us")), None)
    if kind == "integer" and dtype.is_integer():
        return (raw.cast(pl.Int64), None)
    if kind == "integer" and dtype.is_float():
        # pandas writes an integer column with nulls as floats: accept whole numbers only
        whole = (raw.is_finite() & (raw == raw.floor())).fill_null(True)
        integers = pl.select(pl.when(whole).then(raw).cast(pl.Int64)).to_series()
        return (integers.alias(raw.name), ~whole)
    if kind == "number" and dtype.is_numeric():
        return (raw.cast(pl.Float64), None)
    raise ReadError(f"{file}: column {raw.name!r} has type {dtype}, expected {EXPECTED[kind]}")


TARGET_DTYPES: dict[ColumnKind, pl.DataType] = {
    "string": pl.String(),
    "date": pl.Date(),
    "partial_date": pl.String(),
    "timestamp": pl.Datetime("us"),
    "integer": pl.Int64(),
    "number": pl.Float64(),
}


def _naive_local(values: pl.Series, timezone: str) -> pl.Series:
    zone = values.dtype.time_zone if isinstance(values.dtype, pl.Datetime) else None
    if zone is None:
        return values
    return values.dt.convert_time_zone(timezone).dt.replace_time_zone(None)


def _parse_text(
    raw: pl.Series, kind: ColumnKind, timezone: str
) -> tuple[pl.Series, pl.Series | None]:
    values = parse_text(raw, kind, timezone)
    if kind == "string":
        return (values, None)
    present = raw.is_not_null() & (raw.str.len_bytes() > 0)
    return (values, present & values.is_null())


def parse_text(text: pl.Series, kind: ColumnKind, timezone: str) -> pl.Series:
    """Text read as ``kind``: null where it cannot be (a value present, non-empty and
    null here is unreadable)."""
    if kind == "string":
        return text
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if kind == "partial_date":
        first = partial_date_bounds(pl.col(text.name))[0]
        return text.to_frame().select(pl.when(first.is_not_null()).then(text.name)).to_series()
    if kind == "timestamp":
        return _parse_timestamps(text, timezone)
    if kind == "integer":
        return text.cast(pl.Int64, strict=False)
    return text.cast(pl.Float64, strict=False)


PARTIAL_DATE = r"^[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?$"


def partial_date_bounds(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The first and last day a ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` allows (2019-02:
    2019-02-01 and 2019-02-28); both null for text of another form or no real date."""
    length = text.str.len_bytes()
    padded = pl.when(length == 4).then(text + "-01-01").when(length == 7).then(text + "-01")
    first = (
        pl.when(text.str.contains(PARTIAL_DATE))
        .then(padded.otherwise(text))
        .str.to_date("%Y-%m-%d", strict=False)
    )
    last = (
        pl.when(length == 4)
        .then(first.dt.offset_by("1y").dt.offset_by("-1d"))
        .when(length == 7)
        .then(first.dt.month_end())
        .otherwise(first)
    )
    return first, last


def _parse_timestamps(text: pl.Series, timezone: str) -> pl.Series:
    """Parse ISO-8601 text to naive local time.

    Arrow's ISO-8601 cast is ten times faster than format-driven parsing but all or
    nothing, so it takes a column whose values are all naive (or all zoned); anything
    else, including any unreadable value, goes through each spelling in turn.
    """
    arrow = text.to_arrow()
    for target in (pa.timestamp("us"), pa.timestamp("us", tz=timezone)):
        try:
            parsed = pl.Series(text.name, pc.cast(arrow, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return _naive_local(parsed, timezone)
    return _parse_each_spelling(text, timezone)


def _parse_each_spelling(text: pl.Series, timezone: str) -> pl.Series:
    """Try each accepted spelling in turn on the rows still unparsed."""
    result = pl.repeat(None, len(text), dtype=pl.Datetime("us"), eager=True).alias(text.name)
    pending = text.is_not_null()
    for fmt in NAIVE_TIMESTAMP_FORMATS + ZONED_TIMESTAMP_FORMATS:
        if not pending.any():
            break
        rows = pending.arg_true()
        subset = text.gather(rows)
        if fmt in ZONED_TIMESTAMP_FORMATS:
            zoned = subset.str.to_datetime(fmt, strict=False, time_zone=timezone, time_unit="us")
            parsed = zoned.dt.replace_time_zone(None)
        elif fmt.endswith("%H"):  # polars wants minutes with hours: add them
            parsed = (subset + ":00").str.to_datetime(fmt + ":%M", strict=False, time_unit="us")
        else:
            parsed = subset.str.to_datetime(fmt, strict=False, time_unit="us")
        hit = parsed.is_not_null()
        if hit.any():
            result = result.scatter(rows.filter(hit), parsed.filter(hit))
            pending = pending.scatter(rows.filter(hit), False)
    return result


def repeated(values: pl.Series) -> pl.Series:
    """True on rows whose non-empty value already stood on an earlier row.

    Hashing first makes the common case (all distinct) cheap; rows whose hash repeats are
    then compared exactly, so a hash collision can never report a false duplicate.
    """
    present = values.is_not_null() & (values.str.len_bytes() > 0)
    hashes = values.hash()
    result = pl.repeat(False, len(values), dtype=pl.Boolean, eager=True).alias(values.name)
    if hashes.filter(present).n_unique() == present.sum():
        return result
    rows = (hashes.is_duplicated() & present).arg_true()
    again = ~values.gather(rows).is_first_distinct()
    return result.scatter(rows.filter(again), True)
