"""What the noise of one source is drawn on: the truth as arrays, and a batch of records.

Why: the name noise and the noise of the other fields are drawn in separate modules but
on the same records, so the records and the categorical draw they share live here.

How: ``Truth`` holds the truth's children as numpy arrays (row i = child i) with their
identities; ``Batch`` is one source's records (whose child each is and how old the child
was at the record's first event); ``draw_kinds`` draws one exclusive kind of noise per
record and ``kind_labels`` names it for the truth's ``noise`` column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from features.synth.arrays import BoolArray, IntArray
from features.synth.sources.identity import Identities


@dataclass(frozen=True)
class Truth:
    """The truth's children as arrays (row i = child i), with their identities."""

    identities: Identities
    sex: np.ndarray  # F, M, U
    hukou: np.ndarray  # local, nonlocal, none, unknown
    ethnicity: np.ndarray  # han, minority, unknown
    district: np.ndarray  # the truth's (English) district name


@dataclass(frozen=True)
class Batch:
    """The person records of one source."""

    source: str
    child: IntArray  # the true child of each record
    age_days: IntArray  # age when the record was made (first event entered; none: export)
    duplicate: BoolArray  # the record is the second of a child's two in this source
    family_ref: pl.Series  # the source's own number of the child's household (or null)


def draw_kinds(rng: np.random.Generator, n: int, rates: list[float]) -> IntArray:
    """Per record, 0 (no noise) or 1 + the index of the kind drawn (rates exclusive)."""
    edges = np.cumsum(rates)
    drawn = np.searchsorted(edges, rng.random(n), side="right") + 1
    return np.asarray(np.where(drawn > len(rates), 0, drawn), dtype=np.int64)


def kind_labels(kind: IntArray, labels: tuple[str, ...]) -> pl.Series:
    """The kinds' names (null for 0) from codes 1..len(labels)."""
    return pl.Series((None, *labels), dtype=pl.String).gather(pl.Series(kind))


def flagged(mask: BoolArray, label: str) -> pl.Series:
    """``label`` where ``mask``, else null."""
    return pl.Series([None, label], dtype=pl.String).gather(pl.Series(mask.astype(np.int64)))
