"""The one rule by which a small count never leaves the software.

Every exit (the ``riskflag stats`` files, the service's page and API, what the service
stores) takes its counts from :func:`suppress`; nothing else turns counts into figures.

- **Primary**: a count of children under the threshold (10 by default, zero included) is
  suppressed.
- **Margins**: an area's count is the sum of its districts', the city's the sum of its
  areas'. Where a sum and its parts leave exactly one of them unknown, the next smallest
  part (or, with none left, the sum) is suppressed too, so no subtraction reveals one.
- **Flows**: a month's total is the last month's total plus the new minus the ended.
  Where any of the four is suppressed, the month's new and ended are, so no three of them
  give the fourth away.
- **Support**: the records and yuan of a place, month and area go with its children.

The rules run until none suppresses more. A suppressed count is null with
``suppressed`` true; the others are shown as they are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Final

import polars as pl

from features.statistics.counts import (
    AREA,
    CITY,
    COUNT,
    GROUP,
    LEVEL,
    MEASURE,
    MONTH,
    PLACE,
    Counts,
)

SUPPRESSED: Final = "suppressed"
WITH_CHILDREN: Final = ("records", "yuan")  # support's measures shown or hidden with children
Key = tuple[date, str, str, str]  # month, group, measure, place


@dataclass(frozen=True)
class Figures:
    """Counts fit to leave the software: suppressed ones null, with ``suppressed``."""

    months: tuple[date, ...]
    exported_at: str
    suppress_below: int
    populations: pl.DataFrame
    support: pl.DataFrame


def suppress(counts: Counts, below: int) -> Figures:
    """The counts with every rule of this module applied (see the module's docstring)."""
    populations = _apply(counts.populations, below, flows=True)
    support = _apply(counts.support, below, flows=False)
    return Figures(counts.months, counts.exported_at, below, populations, support)


def _apply(frame: pl.DataFrame, below: int, flows: bool) -> pl.DataFrame:
    rows = frame.to_dicts()
    value = {_key(r): r[COUNT] for r in rows}
    people = {k for k in value if k[2] not in WITH_CHILDREN}
    hidden = {k for k in people if value[k] < below}
    families = _families(rows)
    while True:
        before = len(hidden)
        hidden |= _margins(families, value, hidden)
        if flows:
            hidden |= _flows(value, hidden)
        if len(hidden) == before:
            break
    # a support area's records and yuan go with the children they are of
    hidden |= {(m, g, other, p) for (m, g, _, p) in hidden for other in WITH_CHILDREN}
    return frame.with_columns(
        pl.Series(SUPPRESSED, [_key(r) in hidden for r in rows], dtype=pl.Boolean)
    ).with_columns(pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col(COUNT)).alias(COUNT))


def _key(row: dict[str, object]) -> Key:
    return (row[MONTH], row[GROUP], row[MEASURE], row[PLACE])  # type: ignore[return-value]


def _families(rows: list[dict[str, object]]) -> list[tuple[Key, list[Key]]]:
    """Each sum with its parts: an area with its districts, the city with its areas."""
    parts: dict[Key, list[Key]] = defaultdict(list)
    for row in rows:
        month, group, measure = row[MONTH], row[GROUP], row[MEASURE]
        if row[MEASURE] in WITH_CHILDREN:
            continue
        if row[LEVEL] == "district":
            parts[(month, group, measure, row[AREA])].append(_key(row))  # type: ignore[index]
        elif row[LEVEL] == "area":
            parts[(month, group, measure, CITY)].append(_key(row))  # type: ignore[index]
    return list(parts.items())


def _margins(
    families: list[tuple[Key, list[Key]]], value: dict[Key, float], hidden: set[Key]
) -> set[Key]:
    more: set[Key] = set()
    for total, parts in families:
        unknown = [k for k in (total, *parts) if k in hidden or k in more]
        if len(unknown) != 1:
            continue
        shown = sorted((value[k], k) for k in parts if k not in hidden and k not in more)
        more.add(shown[0][1] if shown else total)
    return more


def _flows(value: dict[Key, float], hidden: set[Key]) -> set[Key]:
    months = sorted({k[0] for k in value})
    previous = dict(zip(months[1:], months[:-1], strict=False))
    more: set[Key] = set()
    for month, group, measure, place in value:
        if measure != "total":
            continue
        flow = [(month, group, m, place) for m in ("new", "ended")]
        linked = [(month, group, "total", place), *flow]
        if month in previous:
            linked.append((previous[month], group, "total", place))
        if any(k in hidden for k in linked):
            more.update(k for k in flow if k not in hidden)
    return more
