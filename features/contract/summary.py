"""What a checked folder or request holds: the report's summary of its typed tables.

Cheap whatever the size (a count per distinct value, the bounds of two columns), as a
request's check needs it to be.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import polars as pl

from features import schema as s
from features.contract.report import Summary


def summarise(
    children: pl.DataFrame, events: pl.DataFrame, *, exported_at: datetime, export_source: str
) -> Summary:
    occurred, recorded = events[s.OCCURRED_AT], events[s.RECORDED_AT]
    return Summary(
        children=children.height,
        events=events.height,
        events_per_type=_counts(events[s.EVENT_TYPE]),
        occurred_from=_moment(occurred.min()),
        occurred_to=_moment(occurred.max()),
        recorded_from=_moment(recorded.min()),
        recorded_to=_moment(recorded.max()),
        exported_at=exported_at,
        export_date_source=export_source,
        children_per_district=_counts(children[s.DISTRICT]),
    )


def _counts(values: pl.Series) -> dict[str, int]:
    """Rows per value, in the order polars sorts the column: an Enum's by its categories,
    text by code point (UTF-8 byte order), null first."""
    counts: dict[str, int] = dict(values.value_counts().rows())
    dtype = values.dtype
    if isinstance(dtype, pl.Enum):
        rank = _category_rank(dtype)
        keys = sorted(counts, key=lambda key: -1 if key is None else rank[key])
    else:
        keys = sorted(counts, key=lambda key: (key is not None, key or ""))
    return {key: counts[key] for key in keys}


@cache
def _category_rank(dtype: pl.Enum) -> dict[str, int]:
    return {name: index for index, name in enumerate(dtype.categories.to_list())}


def _moment(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None
