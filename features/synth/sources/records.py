"""Which person records each source keeps, how it numbers them, and which record each event has.

Why: a source knows a child only through the things it recorded about the child, so a
child has a record in every source where it has events; every child is also on the
health register (birth and vaccination), so every child of the truth is known to some
source. Sources create duplicates (a clerk who did not find the child opens a new
record), and then the child's history in that source is split between the two.

How: per source, the child's events in time order; a share of the children with two or
more events (``SourceNoise.duplicate``) get a second record holding the events from a
random cut onwards. Records are numbered in the order the source created them (first
recorded event; a register entry without events at the child's birth), from a random
start, in the source's own format (``WF0001234``, ``RPT-2021-004567``, ...). A source's
household numbers (``family_ref``) are its own random numbering of the true households;
children whose household the truth does not know have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from features import schema as s
from features.linkage import schema as ls
from features.synth.arrays import BoolArray, IntArray
from features.synth.sources.batch import Batch
from features.synth.sources.identity import Identities
from features.synth.sources.rates import SourceNoise

CHILD = "child"
_PART = "part"
_NUMBER = "number"
_CREATED = "created"
_AGE_AT = "age_at"  # the day the record was created (without events: the export)

# source -> (record id prefix, digits, household number prefix)
SOURCE_FORMATS = {
    "welfare": ("WF", 7, "WFH"),
    "reports": ("RPT-", 6, "RPH"),
    "community": ("SQ", 8, "SQH"),
    "social_aid": ("DB", 8, "DBH"),
    "education": ("XJ", 10, "JZ"),
    "health": ("JK", 9, "JKH"),
    "police": ("JQ", 8, "HK"),
    "philanthropy": ("CS", 8, "CSH"),
}
REGISTER_SOURCE = "health"  # every child has a record here, events or not


@dataclass(frozen=True)
class SourceRecords:
    """One source's records (in record order) and its events with their record ids."""

    batch: Batch
    record_id: pl.Series
    events: pl.DataFrame  # SOURCE_EVENTS_COLUMNS, by record then time


def source_records(
    rng: np.random.Generator,
    source: str,
    events: pl.DataFrame,
    identities: Identities,
    exported_at: datetime,
    noise: SourceNoise,
) -> SourceRecords:
    """The records of ``source`` from its events (contract columns plus ``child``, the
    true child's row number)."""
    events = _split_duplicates(rng, events.sort(CHILD, s.OCCURRED_AT, s.EVENT_ID), noise, source)
    records = events.group_by(CHILD, _PART).agg(pl.col(s.RECORDED_AT).min().alias(_CREATED))
    if source == REGISTER_SOURCE:
        records = _with_register(records, len(identities.birth_day))
    created = records[_CREATED].dt.date().cast(pl.Int64).fill_null(_day(exported_at))
    records = _numbered(rng, source, records.with_columns(created.alias(_AGE_AT)), identities)
    child = records[CHILD].to_numpy()
    batch = Batch(
        source=source,
        child=child,
        age_days=records[_AGE_AT].to_numpy() - identities.birth_day[child],
        duplicate=(records[_PART] == 1).to_numpy(),
        family_ref=family_refs(rng, source, identities, child),
    )
    keys = records.select(CHILD, _PART, _NUMBER, ls.RECORD_ID)
    out = events.join(keys, on=[CHILD, _PART], how="left").sort(_NUMBER, s.OCCURRED_AT, s.EVENT_ID)
    return SourceRecords(batch, records[ls.RECORD_ID], out.select(ls.SOURCE_EVENTS_COLUMNS))


def _day(moment: datetime) -> int:
    return (moment.date() - datetime(1970, 1, 1).date()).days


def _split_duplicates(
    rng: np.random.Generator, events: pl.DataFrame, noise: SourceNoise, source: str
) -> pl.DataFrame:
    """``part`` 1 for the events of a duplicate record: from a random cut onwards."""
    child = events[CHILD].to_numpy()
    starts = np.flatnonzero(np.r_[True, child[1:] != child[:-1]]) if len(child) else child
    counts = np.diff(np.r_[starts, len(child)])
    duplicated = (counts >= 2) & (rng.random(len(counts)) < noise.of_source("duplicate", source))
    cut = np.where(duplicated, 1 + np.floor(rng.random(len(counts)) * (counts - 1)), counts)
    rank = np.arange(len(child)) - np.repeat(starts, counts)
    part = (rank >= np.repeat(cut.astype(np.int64), counts)).astype(np.int8)
    return events.with_columns(pl.Series(_PART, part))


def _with_register(records: pl.DataFrame, n_children: int) -> pl.DataFrame:
    """Add a record without events for every child the register has no record of."""
    everyone = pl.DataFrame({CHILD: np.arange(n_children, dtype=np.int64)})
    missing = everyone.join(records.select(CHILD), on=CHILD, how="anti")
    extra = missing.with_columns(
        pl.lit(0, dtype=pl.Int8).alias(_PART),
        pl.lit(None, dtype=s.TIMESTAMP_DTYPE).alias(_CREATED),
    )
    return pl.concat([records, extra.select(records.columns)])


def _numbered(
    rng: np.random.Generator, source: str, records: pl.DataFrame, identities: Identities
) -> pl.DataFrame:
    """Records in creation order with their numbers and ids."""
    prefix, digits, _ = SOURCE_FORMATS[source]
    born = pl.Series(identities.birth_day[records[CHILD].to_numpy()]).cast(pl.Date)
    created = records[_CREATED].fill_null(born.cast(s.TIMESTAMP_DTYPE))
    ordered = records.with_columns(created.alias(_CREATED)).sort(_CREATED, CHILD, _PART)
    start = int(rng.integers(1_000, 100_000))
    number = pl.int_range(start, start + pl.len(), dtype=pl.Int64)
    digits_text = number.cast(pl.String).str.zfill(digits)
    if source == "reports":
        year = pl.col(_CREATED).dt.year().cast(pl.String)
        record_id = pl.concat_str(pl.lit(prefix), year, pl.lit("-"), digits_text)
    else:
        record_id = pl.lit(prefix) + digits_text
    return ordered.with_columns(number.alias(_NUMBER), record_id.alias(ls.RECORD_ID))


def family_refs(
    rng: np.random.Generator, source: str, identities: Identities, child: IntArray
) -> pl.Series:
    """The source's number of each record's household (null: the truth does not know it)."""
    families = identities.families
    n_families = len(families.district)
    number = rng.permutation(n_families) + int(rng.integers(1, 10_000))
    _, _, prefix = SOURCE_FORMATS[source]
    family = identities.family[child]
    text = pl.lit(prefix) + pl.Series(number[family]).cast(pl.String).str.zfill(7)
    known: BoolArray = families.known[family]
    return pl.select(pl.when(pl.Series(known)).then(text).otherwise(None)).to_series()
