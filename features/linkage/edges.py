"""Candidate links for the clustering: ID numbers, the model's pairs, a person's decisions.

Three kinds of evidence become edges of one table (``uid_l``, ``uid_r``,
``match_probability``, ``how``), so the clustering applies them in one order:

- ``id_number``: records sharing a usable ID number (features/linkage/records.py), each
  joined to the group's first record: the deterministic links, probability 1;
- ``match``: the model's pairs at or above the link threshold that carry the child's own
  evidence when the policy asks for it (``rules.own_evidence``): the names agree at some
  level, the full birth dates agree, or the ID numbers agree or are one digit apart;
  ``family``: the others, which only link a record to the one child its family has;
- ``review``: pairs a person decided are the same child (``--decisions``).

Pairs a person decided are different children are returned apart, never as edges.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from features.linkage import records as r
from features.linkage import schema as ls
from features.linkage.cluster import FAMILY, LEFT, PROBABILITY, RIGHT
from features.linkage.policy import LinkagePolicy

DECISION = "decision"
DECISIONS = ("same", "different", "unsure")
# Splink numbers a comparison's levels from the weakest (0, "different") upwards
_NAME_AGREES = pl.col("gamma_name") >= 1
_BIRTH_AGREES = pl.col("gamma_birth_date") >= 3  # same date, swapped, within days
_ID_AGREES = pl.col("gamma_id_number") >= 1


class DecisionsError(ValueError):
    """A decisions file that cannot be used; names the file, row and rule."""


def id_number_edges(records: pl.DataFrame) -> pl.DataFrame:
    """Each record with a usable ID number joined to the first record sharing it."""
    usable = records.filter(pl.col(r.ID_USABLE)).select(r.UID, r.ID)
    first = usable.with_columns(pl.col(r.UID).min().over(r.ID).alias(LEFT))
    return first.filter(pl.col(LEFT) != pl.col(r.UID)).select(
        LEFT, pl.col(r.UID).alias(RIGHT), pl.lit(1.0).alias(PROBABILITY),
        pl.lit(ls.HOW_ID_NUMBER).alias(ls.HOW),
    )  # fmt: skip


def match_edges(pairs: pl.DataFrame, policy: LinkagePolicy) -> pl.DataFrame:
    """The model's pairs at or above the link threshold: ``match``, or ``family`` when the
    policy asks for the child's own evidence and the pair has none."""
    linked = pairs.filter(pl.col(PROBABILITY) >= policy.link_threshold)
    own = (_NAME_AGREES | _BIRTH_AGREES | _ID_AGREES) if policy.own_evidence else pl.lit(True)
    kind = pl.when(own).then(pl.lit(ls.HOW_MATCH)).otherwise(pl.lit(FAMILY))
    return linked.select(LEFT, RIGHT, PROBABILITY, kind.alias(ls.HOW))


def read_decisions(path: Path, records: pl.DataFrame) -> pl.DataFrame:
    """A person's decisions on pairs, as record numbers: ``uid_l``, ``uid_r``, ``decision``.

    The file (CSV or Parquet) has ``source_l``, ``record_id_l``, ``source_r``,
    ``record_id_r`` and ``decision`` (same, different, unsure); a later row about the
    same pair overrides an earlier one.
    """
    try:
        raw = (
            pl.read_parquet(path)
            if path.suffix == ".parquet"
            else pl.read_csv(path, infer_schema=False)  # record ids are text: 007 stays 007
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DecisionsError(f"{path}: cannot be read ({exc})") from exc
    needed = ("source_l", "record_id_l", "source_r", "record_id_r", DECISION)
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise DecisionsError(f"{path}: missing column {missing[0]!r} (needs {', '.join(needed)})")
    raw = raw.select(*[pl.col(c).cast(pl.String) for c in needed]).with_row_index("_row", 1)
    bad = raw.filter(~pl.col(DECISION).is_in(DECISIONS))
    if bad.height:
        row, value = bad["_row"][0], bad[DECISION][0]
        raise DecisionsError(f"{path}: row {row}: decision {value!r} is not one of {DECISIONS}")
    return _to_uids(path, raw, records)


def _to_uids(path: Path, raw: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    ids = records.select(ls.SOURCE, ls.RECORD_ID, r.UID)
    both = raw.join(
        ids.rename({ls.SOURCE: "source_l", ls.RECORD_ID: "record_id_l", r.UID: "_a"}),
        on=["source_l", "record_id_l"], how="left",
    ).join(
        ids.rename({ls.SOURCE: "source_r", ls.RECORD_ID: "record_id_r", r.UID: "_b"}),
        on=["source_r", "record_id_r"], how="left",
    )  # fmt: skip
    unknown = both.filter(pl.col("_a").is_null() | pl.col("_b").is_null())
    if unknown.height:
        raise DecisionsError(f"{path}: row {unknown['_row'][0]}: names a record no source holds")
    ordered = both.select(
        "_row", pl.min_horizontal("_a", "_b").alias(LEFT),
        pl.max_horizontal("_a", "_b").alias(RIGHT), DECISION,
    )  # fmt: skip
    return ordered.sort("_row").group_by(LEFT, RIGHT).last().drop("_row")


def decided_edges(decisions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The decided-same pairs as ``review`` edges, and the decided-different pairs."""
    same = decisions.filter(pl.col(DECISION) == "same").select(
        LEFT, RIGHT, pl.lit(1.0).alias(PROBABILITY), pl.lit(ls.HOW_REVIEW).alias(ls.HOW)
    )
    apart = decisions.filter(pl.col(DECISION) == "different").select(LEFT, RIGHT)
    return same, apart
