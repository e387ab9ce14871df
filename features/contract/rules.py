"""Every row-level rule of the data contract, as one boolean polars expression each.

A rule's expression is True on the rows that break it. Rules run on a frame holding the
typed columns under their contract names plus, for each coerced column, a mask
``unreadable(column)`` of values that could not be read as the column's type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from features import schema as s

KIND_INDEX = "__kind"  # physical index of event_type in the catalogue, null when unknown
DETAIL_INDEX = "__detail"  # physical index of detail in the union of code lists


def unreadable(column: str) -> str:
    return f"__unreadable_{column}"


def repeated_name(column: str) -> str:
    return f"__repeated_{column}"


@dataclass(frozen=True)
class Rule:
    rule: str
    column: str
    description: str
    broken: pl.Expr
    context: Callable[[str | None], str | None] | None = None  # event_type -> a hint


@dataclass(frozen=True)
class Limits:
    """The instants values are checked against, as naive local times."""

    exported_at: datetime
    now: datetime

    @property
    def export_date(self) -> date:
        return self.exported_at.date()

    @property
    def earliest_birth_date(self) -> date:
        day = self.export_date
        years_back = day.year - s.MAX_AGE_YEARS_AT_EXPORT
        return (
            day.replace(year=years_back, day=28)
            if (day.month, day.day) == (2, 29)
            else (day.replace(year=years_back))
        )


def empty(column: str) -> pl.Expr:
    """Null or the empty string."""
    return pl.col(column).is_null() | (pl.col(column).str.len_bytes() == 0)


def not_one_of(column: str, values: tuple[str, ...]) -> pl.Expr:
    return empty(column) | ~pl.col(column).is_in(values)


def typed(column: str, label: str, required: bool = True) -> list[Rule]:
    """A coerced column: readable as its type (``label``), and present unless optional."""
    readable = Rule(f"{column}.type", column, f"must be {label}", pl.col(unreadable(column)))
    if not required:
        return [readable]
    present = pl.col(column).is_null() & ~pl.col(unreadable(column))
    return [readable, Rule(f"{column}.required", column, "is required", present)]


def unique_id(column: str) -> list[Rule]:
    """An identifier: non-empty and unique (the table was coerced with it as ``unique``)."""
    return [
        Rule(f"{column}.required", column, "must be a non-empty string", empty(column)),
        Rule(
            f"{column}.unique",
            column,
            "must be unique: the same value is on an earlier row",
            pl.col(repeated_name(column)),
        ),
    ]


def max_length(column: str, limit: int) -> Rule:
    return Rule(
        f"{column}.max_length",
        column,
        f"must be at most {limit} characters",
        pl.col(column).str.len_chars() > limit,
    )


def allowed(column: str, values: tuple[str, ...]) -> Rule:
    """One of a vocabulary (null and empty are not)."""
    return Rule(
        f"{column}.allowed",
        column,
        "must be one of " + ", ".join(values),
        not_one_of(column, values),
    )


def district_known(districts: Mapping[str, str]) -> Rule:
    """A district of the deployment's, where there is one."""
    return Rule(
        "district.known",
        s.DISTRICT,
        "must be a district this deployment knows",
        ~empty(s.DISTRICT) & ~pl.col(s.DISTRICT).is_in(tuple(districts)),
    )


def birth_date_limits(limits: Limits, first: pl.Expr, last: pl.Expr) -> list[Rule]:
    """A birth date within the ages the contract knows. ``first`` and ``last`` are the first
    and last day it may mean (the same day for a full date); a rule is broken only when
    every day it may mean breaks it."""
    return [
        Rule(
            "birth_date.not_after_export",
            s.BIRTH_DATE,
            f"must not be after the export date {limits.export_date}",
            first > limits.export_date,
        ),
        Rule(
            "birth_date.max_age",
            s.BIRTH_DATE,
            f"must not be more than {s.MAX_AGE_YEARS_AT_EXPORT} years before the export date "
            f"(earliest {limits.earliest_birth_date})",
            last < limits.earliest_birth_date,
        ),
    ]


def children_rules(limits: Limits, districts: Mapping[str, str]) -> list[Rule]:
    birth = pl.col(s.BIRTH_DATE)
    return [
        *unique_id(s.CHILD_ID),
        max_length(s.CHILD_ID, s.MAX_CHILD_ID_LENGTH),
        *typed(s.BIRTH_DATE, "a date (YYYY-MM-DD)"),
        *birth_date_limits(limits, birth, birth),
        allowed(s.SEX, s.SEX_VALUES),
        Rule("district.required", s.DISTRICT, "must be a non-empty string", empty(s.DISTRICT)),
        district_known(districts),
        allowed(s.HUKOU, s.HUKOU_VALUES),
        allowed(s.ETHNICITY, s.ETHNICITY_VALUES),
    ]


def _kind_lookup(values: list[int | None] | list[bool]) -> pl.Expr:
    """A per-row attribute of the row's event kind (null for an unknown kind)."""
    return pl.lit(pl.Series(values)).gather(pl.col(KIND_INDEX))


def _severity_hint(event_type: str | None) -> str | None:
    kind = s.CATALOGUE.get(event_type or "")
    if kind is None:
        return None
    if kind.severity is None:
        return f"{kind.event_type} records no severity"
    return f"{kind.event_type} allows {kind.severity[0]}-{kind.severity[1]}"


def _detail_hint(event_type: str | None) -> str | None:
    kind = s.CATALOGUE.get(event_type or "")
    if kind is None:
        return None
    if kind.details is None:
        return f"{kind.event_type} records no detail"
    return f"{kind.event_type} allows {', '.join(kind.details)}"


def _amount_hint(event_type: str | None) -> str | None:
    kind = s.CATALOGUE.get(event_type or "")
    return None if kind is None or kind.uses_amount else f"{kind.event_type} records no amount"


def _allowed_detail_pairs() -> list[int]:
    codes = {code: index for index, code in enumerate(s.DETAIL_CODES)}
    return [
        kind_index * 256 + codes[code]
        for kind_index, kind in enumerate(s.CATALOGUE.values())
        for code in kind.details or ()
    ]


def _timestamp_rules(column: str, limits: Limits) -> list[Rule]:
    value = pl.col(column)
    return [
        *typed(column, "an ISO-8601 timestamp"),
        Rule(
            f"{column}.not_after_export",
            column,
            f"must not be after the export instant {limits.exported_at.isoformat(sep=' ')}",
            value > limits.exported_at,
        ),
        Rule(
            f"{column}.not_in_future",
            column,
            f"must not be after the moment of validation {limits.now.isoformat(sep=' ')}",
            value > limits.now,
        ),
    ]


def events_rules(
    limits: Limits, child_ids: pl.Series, owner: str = s.CHILD_ID, owners: str = s.CHILDREN
) -> list[Rule]:
    """The events' rules; ``owner`` names the column holding whose event it is (child_id,
    or a source's record_id), which must be one of ``child_ids`` listed in ``owners``."""
    kinds = list(s.CATALOGUE.values())
    sev_lo = _kind_lookup([k.severity[0] if k.severity else None for k in kinds])
    sev_hi = _kind_lookup([k.severity[1] if k.severity else None for k in kinds])
    uses_severity = _kind_lookup([k.severity is not None for k in kinds])
    uses_amount = _kind_lookup([k.uses_amount for k in kinds])
    uses_detail = _kind_lookup([k.details is not None for k in kinds])
    severity, amount = pl.col(s.SEVERITY), pl.col(s.AMOUNT)
    has_detail = ~empty(s.DETAIL)
    detail_pair = pl.col(KIND_INDEX).cast(pl.Int64) * 256 + pl.col(DETAIL_INDEX).cast(pl.Int64)
    return [
        *unique_id(s.EVENT_ID),
        Rule(f"{owner}.required", owner, "must be a non-empty string", empty(owner)),
        Rule(
            f"{owner}.known",
            owner,
            f"must be a {owner} listed in {owners}",
            ~empty(owner) & ~pl.col(owner).is_in(child_ids.implode()),
        ),
        Rule(
            "event_type.known",
            s.EVENT_TYPE,
            "must be an event type of the catalogue (SOURCE.KIND)",
            pl.col(KIND_INDEX).is_null(),
        ),
        *_timestamp_rules(s.OCCURRED_AT, limits),
        *_timestamp_rules(s.RECORDED_AT, limits),
        Rule(
            "recorded_at.not_before_occurred",
            s.RECORDED_AT,
            "must not be before occurred_at",
            pl.col(s.RECORDED_AT) < pl.col(s.OCCURRED_AT),
        ),
        Rule("severity.type", s.SEVERITY, "must be an integer", pl.col(unreadable(s.SEVERITY))),
        Rule(
            "severity.not_used",
            s.SEVERITY,
            "must be null: this event kind records no severity",
            severity.is_not_null() & ~uses_severity,
            _severity_hint,
        ),
        Rule(
            "severity.range",
            s.SEVERITY,
            "must be within the range the event kind allows",
            uses_severity & ((severity < sev_lo) | (severity > sev_hi)),
            _severity_hint,
        ),
        Rule("amount.type", s.AMOUNT, "must be a number", pl.col(unreadable(s.AMOUNT))),
        Rule(
            "amount.not_used",
            s.AMOUNT,
            "must be null: this event kind records no amount",
            amount.is_not_null() & ~uses_amount,
            _amount_hint,
        ),
        Rule("amount.finite", s.AMOUNT, "must be a finite number", ~amount.is_finite()),
        Rule("amount.not_negative", s.AMOUNT, "must not be negative", amount < 0),
        Rule(
            "detail.not_used",
            s.DETAIL,
            "must be null: this event kind records no detail",
            has_detail & ~uses_detail,
            _detail_hint,
        ),
        Rule(
            "detail.code",
            s.DETAIL,
            "must be a code of the event kind's list",
            has_detail & uses_detail & ~detail_pair.is_in(_allowed_detail_pairs()).fill_null(False),
            _detail_hint,
        ),
    ]
