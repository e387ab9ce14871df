"""Statuses on an as-of date, derived from the event stream (never taken as given).

A status decided by "the latest of" some events (left-behind registered vs. ended, dibao
started vs. ended, ...) is a running maximum of ``(occurrence, code)`` packed into one
integer over the events of its group; the others come from counts (parents deceased,
away and returned). See docs/features.md for each definition.
"""

from __future__ import annotations

import polars as pl

from features import schema as s
from features.engine import CODE_BITS, NONE, OCC_US, pack
from features.registry import AWAY_STATUSES


def match(event_type: str, detail: str | None = None) -> pl.Expr:
    expr = pl.col(s.EVENT_TYPE) == event_type
    return expr & (pl.col(s.DETAIL) == detail) if detail else expr


# status groups for running maxima: name -> {event_type or (event_type, detail): code}
LATEST_OF: dict[str, dict[tuple[str, str | None], int]] = {
    "__left_behind": {
        ("community.left_behind_registered", None): 1,
        ("community.left_behind_ended", None): 0,
    },
    "__dibao": {("social_aid.dibao_start", None): 1, ("social_aid.dibao_end", None): 0},
    "__open_case": {("welfare.case_opened", None): 1, ("welfare.case_closed", None): 0},
    "__school": {("education.enrolled", None): 1, ("education.dropout", None): 2},
    "__guardian": {
        ("welfare.guardianship_change", code): i + 1 for i, code in enumerate(s.GUARDIANS)
    },
    "__placed": {
        ("welfare.emergency_removal", None): 1,
        ("welfare.foster_placement", None): 1,
        ("welfare.institution_placement", None): 1,
        ("welfare.reunification", None): 0,
        ("welfare.adoption", None): 0,
    },
    **{
        f"__parent_{code}": {
            ("community.parent_status", code): 1,
            ("community.parent_status", "returned"): 0,
        }
        for code in AWAY_STATUSES
    },
}


def latest_values_of(codes: dict[tuple[str, str | None], int]) -> pl.Expr:
    """(occurrence, code) packed for events of a status group, NONE for other events."""
    packed = pl.lit(NONE, pl.Int64)
    for (event_type, detail), code in codes.items():
        packed = (
            pl.when(match(event_type, detail)).then(pack(pl.col(OCC_US), code)).otherwise(packed)
        )
    return packed


def status_code(group: str) -> pl.Expr:
    packed = pl.col(group)
    return pl.when(packed == NONE).then(None).otherwise(packed % CODE_BITS)


def latest_is(group: str, code: int) -> pl.Expr:
    return (status_code(group) == code).fill_null(False)


def status_columns() -> dict[str, pl.Expr]:
    # counts arrive as UInt16: subtract in signed integers, or 0 - 1 wraps to 65,535
    def count(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Int32)

    deceased = pl.min_horizontal(count("__parents_deceased"), 2)
    away = (count("__parents_left") - count("__parents_returned")).clip(0, None)
    columns = {
        "status__left_behind": latest_is("__left_behind", 1),
        "status__unattended": pl.col("__unattended") > 0,
        "status__parents_deceased": deceased.cast(pl.Int8),
        "status__orphan": deceased >= 2,
        "status__parents_away": pl.min_horizontal(away, 2 - deceased).cast(pl.Int8),
        **{f"status__parent_{c}": latest_is(f"__parent_{c}", 1) for c in AWAY_STATUSES},
        "status__dibao": latest_is("__dibao", 1),
        "status__disabled": pl.col("__disabled") > 0,
        "status__disability_level": status_code("__disability_level").fill_null(0),
        "status__school": status_code("__school")
        .replace_strict({1: "enrolled", 2: "dropped_out"}, default="none", return_dtype=pl.String)
        .cast(pl.Enum(["none", "enrolled", "dropped_out"])),
        "status__open_case": latest_is("__open_case", 1),
        "status__guardian": status_code("__guardian")
        .replace_strict(
            {i + 1: code for i, code in enumerate(s.GUARDIANS)},
            default="parent",
            return_dtype=pl.String,
        )
        .cast(pl.Enum(list(s.GUARDIANS))),
    }
    return columns
