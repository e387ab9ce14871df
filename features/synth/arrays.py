"""Array types, the weekly time grid and the column block that every event source emits.

Times inside the generator are whole seconds (int64) relative to ``start`` 00:00 local;
week k covers [k x WEEK, (k + 1) x WEEK).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Final, TypeVar, cast

import numpy as np
import numpy.typing as npt

from features import schema as s

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Rng = np.random.Generator
T = TypeVar("T")

DAY: Final = 86_400
WEEK: Final = 7 * DAY
YEAR: Final = 365.25 * DAY
NEVER: Final = 2**62  # a time that never comes (spells without an end)

TYPE_CODE: Final = {name: i for i, name in enumerate(s.EVENT_TYPES)}
DETAIL_CODE: Final = {name: i for i, name in enumerate(s.DETAIL_CODES)}


@dataclass(frozen=True)
class TimeGrid:
    """The simulated window: weeks from ``start``; the export instant is ``end`` 00:00."""

    start: date
    end: date

    @property
    def export_s(self) -> int:
        return (self.end - self.start).days * DAY

    @property
    def n_weeks(self) -> int:
        # one more week than needed, so that the second end-of-window falls inside a week
        return self.export_s // WEEK + 1

    def day_of(self, day: date) -> int:
        """Days from start to ``day`` (negative before start)."""
        return (day - self.start).days


def days_to_s(days: FloatArray) -> IntArray:
    return np.floor(days * DAY).astype(np.int64)


def choice(rng: Rng, probs: tuple[float, ...] | FloatArray, n: int) -> IntArray:
    """n draws of category indices with the given probabilities (normalised)."""
    p = np.asarray(probs, dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    index = np.searchsorted(cum, rng.random(n), side="right")
    return np.asarray(np.minimum(index, len(p) - 1), dtype=np.int64)


def choice_rows(rng: Rng, probs: FloatArray) -> IntArray:
    """One category per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    idx = (cum <= u[:, None]).sum(axis=1)
    return np.asarray(np.minimum(idx, probs.shape[1] - 1), dtype=np.int64)


@dataclass
class EventBlock:
    """Columns of some events: child index in the chunk, type and detail codes, times in s.

    ``severity`` -1 and ``detail`` -1 mean null, ``amount`` NaN means null. ``tail``
    marks events that may be recorded very late (never outcome events).
    """

    child: IntArray
    etype: IntArray
    occurred: IntArray
    recorded: IntArray
    severity: IntArray
    amount: FloatArray
    detail: IntArray
    tail: BoolArray

    def __len__(self) -> int:
        return len(self.child)


def block(
    event_type: str,
    child: IntArray,
    occurred: IntArray,
    recorded: IntArray,
    *,
    severity: IntArray | None = None,
    amount: FloatArray | None = None,
    detail: IntArray | str | None = None,
    tail: bool = True,
) -> EventBlock:
    """Events of one type; ``detail`` is an array of DETAIL_CODE codes or one code name."""
    n = len(child)
    if isinstance(detail, str):
        detail = np.full(n, DETAIL_CODE[detail], dtype=np.int64)
    return EventBlock(
        child=np.asarray(child, dtype=np.int64),
        etype=np.full(n, TYPE_CODE[event_type], dtype=np.int64),
        occurred=np.asarray(occurred, dtype=np.int64),
        recorded=np.maximum(np.asarray(recorded, dtype=np.int64), occurred),
        severity=np.full(n, -1, np.int64) if severity is None else severity.astype(np.int64),
        amount=np.full(n, np.nan) if amount is None else amount.astype(np.float64),
        detail=np.full(n, -1, np.int64) if detail is None else detail.astype(np.int64),
        tail=np.full(n, tail, dtype=np.bool_),
    )


def concat_fields(cls: type[T], items: Sequence[T]) -> T:
    """One dataclass of arrays from many: each field concatenated (needs at least one item)."""
    names = [f.name for f in fields(cast(Any, cls))]
    merged = {name: np.concatenate([getattr(item, name) for item in items]) for name in names}
    return cast(Any, cls)(**merged)  # type: ignore[no-any-return]


def concat_blocks(blocks: list[EventBlock]) -> EventBlock:
    return concat_fields(EventBlock, blocks)


def detail_codes(names: tuple[str, ...], index: IntArray) -> IntArray:
    """Map indices into a code list (e.g. ALLEGATIONS) to DETAIL_CODE codes."""
    table = np.array([DETAIL_CODE[name] for name in names], dtype=np.int64)
    return table[index]
