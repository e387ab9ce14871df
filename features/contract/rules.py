"""Every row-level rule of the data contract, as one boolean condition each.

A rule's condition is True on the rows that break it. Rules run on a frame holding the
typed columns under their contract names plus, for each coerced column, a mask
``unreadable(column)`` of values that could not be read as the column's type.

A condition is a :class:`~features.contract.terms.Term`: written once, it runs as a
polars expression over a folder of any size (``Rule.expr``) and compiled to Python over
one child's few rows (``features.contract.small``). The limits a check depends on (the
export instant, the moment of validation, the known child ids) enter conditions as
params, never as literals, so a compiled check serves every request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from features import schema as s
from features.contract.terms import Term, col, lookup, opaque, param, to_expr

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
    broken: Term | pl.Expr  # a polars expression: a rule with no compiled form
    context: Callable[[str | None], str | None] | None = None  # event_type -> a hint

    @property
    def expr(self) -> pl.Expr:
        """The condition as a polars expression."""
        return to_expr(self.broken) if isinstance(self.broken, Term) else self.broken


@dataclass(frozen=True)
class Limits:
    """The instants values are checked against, as naive local times."""

    exported_at: datetime
    now: datetime
    contract_version: str = s.CONTRACT_VERSION  # what the folder's export.json declares

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

    def values(self) -> dict[str, date | datetime | bool]:
        """Each limit by the name a rule's condition takes it as a param."""
        return {
            VERSION_1: self.contract_version == "1",
            "exported_at": self.exported_at,
            "now": self.now,
            "export_date": self.export_date,
            "earliest_birth_date": self.earliest_birth_date,
        }


def limit_value(limits: Limits, name: str) -> Term:
    """One of ``limits.values()`` as the param of its name."""
    return param(name, limits.values()[name])


VERSION_1 = "version_1"  # the param: the folder declares contract version 1
CHILD_IDS = "child_ids"  # the param of the ids an event's owner must be one of


def empty(column: str) -> Term:
    """Null or the empty string."""
    return col(column).is_null() | (col(column).len_bytes() == 0)


def not_one_of(column: str, values: tuple[str, ...]) -> Term:
    return empty(column) | ~col(column).is_in(values)


def typed(column: str, label: str, required: bool = True) -> list[Rule]:
    """A coerced column: readable as its type (``label``), and present unless optional."""
    readable = Rule(f"{column}.type", column, f"must be {label}", col(unreadable(column)))
    if not required:
        return [readable]
    present = col(column).is_null() & ~col(unreadable(column))
    return [readable, Rule(f"{column}.required", column, "is required", present)]


def unique_id(column: str) -> list[Rule]:
    """An identifier: non-empty and unique (the table was coerced with it as ``unique``)."""
    return [
        Rule(f"{column}.required", column, "must be a non-empty string", empty(column)),
        Rule(
            f"{column}.unique",
            column,
            "must be unique: the same value is on an earlier row",
            col(repeated_name(column)),
        ),
    ]


def max_length(column: str, limit: int) -> Rule:
    return Rule(
        f"{column}.max_length",
        column,
        f"must be at most {limit} characters",
        col(column).len_chars() > limit,
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
        ~empty(s.DISTRICT) & ~col(s.DISTRICT).is_in(tuple(districts)),
    )


def birth_date_limits(limits: Limits, first: Term | pl.Expr, last: Term | pl.Expr) -> list[Rule]:
    """A birth date within the ages the contract knows. ``first`` and ``last`` are the first
    and last day it may mean (the same day for a full date); a rule is broken only when
    every day it may mean breaks it."""
    first = first if isinstance(first, Term) else opaque(first)
    last = last if isinstance(last, Term) else opaque(last)
    return [
        Rule(
            "birth_date.not_after_export",
            s.BIRTH_DATE,
            f"must not be after the export date {limits.export_date}",
            first > limit_value(limits, "export_date"),
        ),
        Rule(
            "birth_date.max_age",
            s.BIRTH_DATE,
            f"must not be more than {s.MAX_AGE_YEARS_AT_EXPORT} years before the export date "
            f"(earliest {limits.earliest_birth_date})",
            last < limit_value(limits, "earliest_birth_date"),
        ),
    ]


def children_rules(limits: Limits, districts: Mapping[str, str]) -> list[Rule]:
    birth = col(s.BIRTH_DATE)
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


def _kind_lookup(values: list[int | None] | list[bool]) -> Term:
    """A per-row attribute of the row's event kind (null for an unknown kind)."""
    return lookup(values, col(KIND_INDEX))


def _severity_hint(event_type: str | None) -> str | None:
    kind = s.CATALOGUE.get(event_type or "")
    if kind is None:
        return None
    if kind.severity is None:
        return f"{kind.event_type} records no severity"
    return f"{kind.event_type} allows {kind.severity[0]}-{kind.severity[1]}"


def _version_hint(event_type: str | None) -> str | None:
    kind = s.CATALOGUE.get(event_type or "")
    return None if kind is None else f"{kind.event_type} came in contract version {kind.since}"


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


def _allowed_detail_pairs() -> tuple[int, ...]:
    codes = {code: index for index, code in enumerate(s.DETAIL_CODES)}
    return tuple(
        kind_index * 256 + codes[code]
        for kind_index, kind in enumerate(s.CATALOGUE.values())
        for code in kind.details or ()
    )


def _timestamp_rules(column: str, limits: Limits) -> list[Rule]:
    value = col(column)
    return [
        *typed(column, "an ISO-8601 timestamp"),
        Rule(
            f"{column}.not_after_export",
            column,
            f"must not be after the export instant {limits.exported_at.isoformat(sep=' ')}",
            value > limit_value(limits, "exported_at"),
        ),
        Rule(
            f"{column}.not_in_future",
            column,
            f"must not be after the moment of validation {limits.now.isoformat(sep=' ')}",
            value > limit_value(limits, "now"),
        ),
    ]


def events_rules(
    limits: Limits, child_ids: pl.Series, owner: str = s.CHILD_ID, owners: str = s.CHILDREN
) -> list[Rule]:
    """The events' rules; ``owner`` names the column holding whose event it is (child_id,
    or a source's record_id), which must be one of ``child_ids`` listed in ``owners``."""
    return [
        *unique_id(s.EVENT_ID),
        Rule(f"{owner}.required", owner, "must be a non-empty string", empty(owner)),
        Rule(
            f"{owner}.known",
            owner,
            f"must be a {owner} listed in {owners}",
            ~empty(owner) & ~col(owner).is_in(param(CHILD_IDS, child_ids)),
        ),
        Rule(
            "event_type.known",
            s.EVENT_TYPE,
            "must be an event type of the catalogue (SOURCE.KIND)",
            col(KIND_INDEX).is_null(),
        ),
        Rule(
            "event_type.version",
            s.EVENT_TYPE,
            "must be an event type of the contract version export.json declares",
            _kind_lookup([k.since != "1" for k in _KINDS]) & limit_value(limits, VERSION_1),
            _version_hint,
        ),
        *_timestamp_rules(s.OCCURRED_AT, limits),
        *_timestamp_rules(s.RECORDED_AT, limits),
        Rule(
            "recorded_at.not_before_occurred",
            s.RECORDED_AT,
            "must not be before occurred_at",
            col(s.RECORDED_AT) < col(s.OCCURRED_AT),
        ),
        *_severity_rules(),
        *_amount_rules(),
        *_detail_rules(),
    ]


_KINDS = list(s.CATALOGUE.values())


def _severity_rules() -> list[Rule]:
    """Severity: an integer, used by the kinds that record one, within their range."""
    low = _kind_lookup([k.severity[0] if k.severity else None for k in _KINDS])
    high = _kind_lookup([k.severity[1] if k.severity else None for k in _KINDS])
    uses_severity = _kind_lookup([k.severity is not None for k in _KINDS])
    severity = col(s.SEVERITY)
    return [
        Rule("severity.type", s.SEVERITY, "must be an integer", col(unreadable(s.SEVERITY))),
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
            uses_severity & ((severity < low) | (severity > high)),
            _severity_hint,
        ),
    ]


def _amount_rules() -> list[Rule]:
    """Amount: a finite, non-negative number, used by the kinds that record one."""
    amount, uses_amount = col(s.AMOUNT), _kind_lookup([k.uses_amount for k in _KINDS])
    return [
        Rule("amount.type", s.AMOUNT, "must be a number", col(unreadable(s.AMOUNT))),
        Rule(
            "amount.not_used",
            s.AMOUNT,
            "must be null: this event kind records no amount",
            amount.is_not_null() & ~uses_amount,
            _amount_hint,
        ),
        Rule("amount.finite", s.AMOUNT, "must be a finite number", ~amount.is_finite()),
        Rule("amount.not_negative", s.AMOUNT, "must not be negative", amount < 0),
    ]


def _detail_rules() -> list[Rule]:
    """Detail: used by the kinds that record one, and a code of the kind's list."""
    uses_detail = _kind_lookup([k.details is not None for k in _KINDS])
    has_detail = ~empty(s.DETAIL)
    detail_pair = col(KIND_INDEX).as_int64() * 256 + col(DETAIL_INDEX).as_int64()
    allowed_pair = detail_pair.is_in(_allowed_detail_pairs()).fill_null(False)
    return [
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
            has_detail & uses_detail & ~allowed_pair,
            _detail_hint,
        ),
    ]
