"""The contract's check sized for one child's case history (an API request's body).

``check_tables`` tries this first. It takes tables of text (as an export's CSV) of at
most ``SMALL_ROWS`` rows, parses each typed column with the very function a folder's
goes through (``coerce.parse_text``) and runs every rule of ``rules``, compiled to Python
(``compiled``) once per process and deployment, with the limits and the child ids bound
as params. Polars spends tens of microseconds per expression per call however few the
rows; here a request's check costs a fraction of a millisecond.

It answers only "valid: here are the typed tables" or "not for me": on any broken rule,
or input it is not made for, ``check_tables`` runs the full check, which names every
violation. A report is only ever built there, so it is the same whichever path ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import polars as pl

from features import schema as s
from features.contract.coerce import COLUMN_KINDS, UNIQUE_COLUMNS, parse_text
from features.contract.compiled import Check, Columns, NotCompilableError, compile_check
from features.contract.rules import (
    CHILD_IDS,
    DETAIL_INDEX,
    KIND_INDEX,
    Limits,
    Rule,
    children_rules,
    events_rules,
    repeated_name,
    unreadable,
)
from features.contract.terms import Term
from features.deployment import Deployment

SMALL_ROWS = 1_000  # per table; from ~1,500 rows on, polars (~10 ms a call) is as fast
EMPTY_AS_NULL = frozenset({s.HOUSEHOLD_ID, s.DETAIL})  # as load's finish: "" reads as null
# any limits: a condition takes them as params, so the compiled code serves every check
_ANY_LIMITS = Limits(exported_at=datetime(2000, 1, 1), now=datetime(2000, 1, 1))


@dataclass(frozen=True)
class Checked:
    """Tables that break no rule, typed as ``load_case_histories`` types them."""

    children: pl.DataFrame
    events: pl.DataFrame
    exported_at: datetime


def check_small(
    children: pl.DataFrame,
    events: pl.DataFrame,
    deployment: Deployment,
    exported_at: datetime | None,
    now: datetime,
) -> Checked | None:
    """The typed tables if both are small text tables that break no rule; None when the
    full check must decide (a broken rule, typed or large input, an export after now)."""
    compiled = _compiled(tuple(deployment.districts))
    if compiled is None or not (_fits(children, s.CHILDREN) and _fits(events, s.EVENTS)):
        return None
    if exported_at is not None and exported_at > now:
        return None
    kids = _read(children, s.CHILDREN, deployment.timezone)
    happened = _read(events, s.EVENTS, deployment.timezone)
    latest = happened.series[s.RECORDED_AT].max()
    exported = exported_at or (latest if isinstance(latest, datetime) else None) or now
    params = {**Limits(exported, now).values(), CHILD_IDS: frozenset(kids.values[s.CHILD_ID])}
    children_check, events_check = compiled
    if children_check.broken(kids.values, params) or events_check.broken(happened.values, params):
        return None
    children_typed = _finished(kids.series, s.CHILDREN_SCHEMA)
    return Checked(children_typed, _finished(happened.series, s.EVENTS_SCHEMA), exported)


def _fits(frame: pl.DataFrame, name: str) -> bool:
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    return frame.height <= SMALL_ROWS and all(
        dtypes.get(column) == pl.String for column in s.TABLE_COLUMNS[name]
    )


@lru_cache(maxsize=16)
def _compiled(districts: tuple[str, ...]) -> tuple[Check, Check] | None:
    """Each table's rules compiled, for a deployment's districts (None if a rule has no
    Python form: every check then runs in polars)."""
    rules = (
        (s.CHILDREN, children_rules(_ANY_LIMITS, dict.fromkeys(districts, ""))),
        (s.EVENTS, events_rules(_ANY_LIMITS, pl.Series(s.CHILD_ID, [], pl.String))),
    )
    try:
        children, events = (compile_check(_conditions(r), _columns(name)) for name, r in rules)
    except NotCompilableError:
        return None
    return children, events


def _conditions(rules: Sequence[Rule]) -> list[Term]:
    conditions = [rule.broken for rule in rules]
    if not all(isinstance(condition, Term) for condition in conditions):
        raise NotCompilableError("a rule is a polars expression")
    return [condition for condition in conditions if isinstance(condition, Term)]


def _columns(name: str) -> Columns:
    """The masks, never null, and the float columns of a table coerced for its rules."""
    kinds = COLUMN_KINDS[name]
    masks = {unreadable(column) for column in kinds} | {repeated_name(UNIQUE_COLUMNS[name])}
    floats = {column for column, kind in kinds.items() if kind == "number"}
    return Columns(non_null=frozenset(masks), floats=frozenset(floats))


@dataclass(frozen=True)
class _Table:
    series: dict[str, pl.Series]  # each contract column, typed
    values: dict[str, list[Any]]  # each column the rules read (masks too), as Python values


def _read(frame: pl.DataFrame, name: str, timezone: str) -> _Table:
    """A text table typed as ``load.coerce_table`` types it, with the same helper columns:
    an ``unreadable`` mask per typed column, the identifier's ``repeated`` mask and, for
    events, the catalogue indices of event_type and detail."""
    kinds, unique = COLUMN_KINDS[name], UNIQUE_COLUMNS[name]
    series: dict[str, pl.Series] = {}
    values: dict[str, list[Any]] = {}
    for column in s.TABLE_COLUMNS[name]:
        text, kind = frame[column], kinds.get(column, "string")
        series[column] = parse_text(text, kind, timezone)
        values[column] = series[column].to_list()
        if kind != "string":
            values[unreadable(column)] = unreadable_mask(text.to_list(), values[column])
        if column == unique:
            values[repeated_name(column)] = repeated_mask(values[column])
    if name == s.EVENTS:
        values[KIND_INDEX] = [_KINDS.get(value) for value in values[s.EVENT_TYPE]]
        values[DETAIL_INDEX] = [_DETAILS.get(value) for value in values[s.DETAIL]]
    return _Table(series, values)


def unreadable_mask(text: list[str | None], values: list[Any]) -> list[bool]:
    """As ``coerce``'s: a value present (non-empty text) that did not parse."""
    return [bool(raw) and value is None for raw, value in zip(text, values, strict=True)]


def repeated_mask(values: list[str | None]) -> list[bool]:
    """As ``coerce.repeated``: a non-empty value that already stood on an earlier row."""
    seen: set[str] = set()
    mask = []
    for value in values:
        mask.append(bool(value) and value in seen)
        if value:
            seen.add(value)
    return mask


# the physical index of a value in the Enum (cast non-strict), as load's helper columns
_KINDS = {name: index for index, name in enumerate(s.EVENT_TYPE_DTYPE.categories.to_list())}
_DETAILS = {name: index for index, name in enumerate(s.DETAIL_DTYPE.categories.to_list())}


def _finished(series: dict[str, pl.Series], schema: pl.Schema) -> pl.DataFrame:
    """The checked table as load's finish types it: each column cast to the contract's
    dtype (strictly: every value was checked), the empty string null where optional."""
    columns = []
    for name, dtype in schema.items():
        values = series[name]
        if name in EMPTY_AS_NULL:
            values = pl.Series(name, [v or None for v in values.to_list()], pl.String)
        columns.append(values if values.dtype == dtype else values.cast(dtype))
    return pl.DataFrame(columns)
