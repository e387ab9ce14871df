"""Stable child ids: a later run keeps every earlier child's id, and logs merges and splits.

A caseworker's notes, decisions and audit trail hang on a ``child_id``; renumbering the
children because a new week's records arrived would cut every one of them loose. So a
run with ``--previous`` (the last run's output) names its clusters from the last run's
links:

- each earlier child goes to the cluster that now holds most of its records (its heir;
  ties by the smaller cluster number);
- a cluster that is heir to one earlier child keeps its id; heir to several, it keeps the
  id with most records here (ties: the smaller id) and the others are written to the
  change log as ``merged`` into it;
- a cluster heir to none gets a new id; when it holds records of an earlier child whose
  heir is elsewhere, the change log says ``split`` from that child;
- an earlier child none of whose records is present any more is logged ``retired``.

New ids are ``C`` and nine digits, numbered on from the largest earlier one, in the order
of each cluster's first record: the same input gives the same ids on every engine.
"""

from __future__ import annotations

import polars as pl

from features import schema as s
from features.linkage import schema as ls

PREFIX = "C"
WIDTH = 9
KIND = "change"
FROM = "from_child_id"
RECORDS = "records"
CHANGE_COLUMNS = (KIND, s.CHILD_ID, FROM, RECORDS)


def assign_child_ids(
    clusters: pl.DataFrame, previous: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Child ids for clusters, and the change log against the previous links.

    Parameters
    ----------
    clusters
        ``source``, ``record_id``, ``cluster`` for every record of this run.
    previous
        The previous run's links (``source``, ``record_id``, ``child_id``), or None.

    Returns
    -------
    (pl.DataFrame, pl.DataFrame)
        ``cluster`` -> ``child_id``, and the change log (``change``, ``child_id``,
        ``from_child_id``, ``records``).
    """
    if previous is None or previous.is_empty():
        kept = pl.DataFrame(schema={ls.CLUSTER: pl.Int64, s.CHILD_ID: pl.String})
        return _number_new(clusters, kept, 0), _empty_log()
    overlap = (
        clusters.join(
            previous.select(ls.SOURCE, ls.RECORD_ID, s.CHILD_ID), on=[ls.SOURCE, ls.RECORD_ID]
        )
        .group_by(s.CHILD_ID, ls.CLUSTER)
        .agg(pl.len().alias(RECORDS))
    )
    heirs = overlap.sort(RECORDS, ls.CLUSTER, descending=[True, False]).group_by(s.CHILD_ID).first()
    kept_rank = heirs.sort(ls.CLUSTER, RECORDS, s.CHILD_ID, descending=[False, True, False])
    kept = (
        kept_rank.group_by(ls.CLUSTER, maintain_order=True).first().select(ls.CLUSTER, s.CHILD_ID)
    )
    start = _largest_number(previous[s.CHILD_ID])
    ids = _number_new(clusters, kept, start)
    log = pl.concat(
        [
            _merged(heirs, kept),
            _split(overlap, heirs, ids),
            _retired(previous, heirs),
        ]
    )
    return ids, log.sort(KIND, s.CHILD_ID, FROM)


def _number_new(clusters: pl.DataFrame, kept: pl.DataFrame, start: int) -> pl.DataFrame:
    fresh = (
        clusters.select(ls.CLUSTER)
        .unique()
        .join(kept, on=ls.CLUSTER, how="anti")
        .sort(ls.CLUSTER)
        .with_columns(
            (
                pl.lit(PREFIX)
                + (pl.int_range(1, pl.len() + 1) + start).cast(pl.String).str.zfill(WIDTH)
            ).alias(s.CHILD_ID)
        )
    )
    return pl.concat([kept, fresh]).sort(ls.CLUSTER)


def _largest_number(ids: pl.Series) -> int:
    numbers = ids.str.extract(rf"^{PREFIX}(\d+)$").cast(pl.Int64, strict=False).drop_nulls()
    return int(numbers.max() or 0) if len(numbers) else 0  # type: ignore[arg-type]


def _merged(heirs: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    merged = heirs.join(kept.rename({s.CHILD_ID: "_kept"}), on=ls.CLUSTER).filter(
        pl.col(s.CHILD_ID) != pl.col("_kept")
    )
    return merged.select(
        pl.lit("merged").alias(KIND), pl.col("_kept").alias(s.CHILD_ID),
        pl.col(s.CHILD_ID).alias(FROM), pl.col(RECORDS).cast(pl.Int64),
    )  # fmt: skip


def _split(overlap: pl.DataFrame, heirs: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    parts = overlap.join(heirs.select(s.CHILD_ID, pl.col(ls.CLUSTER).alias("_heir")), on=s.CHILD_ID)
    away = parts.filter(pl.col(ls.CLUSTER) != pl.col("_heir")).join(
        ids.rename({s.CHILD_ID: "_new"}), on=ls.CLUSTER
    )
    return away.select(
        pl.lit("split").alias(KIND), pl.col("_new").alias(s.CHILD_ID),
        pl.col(s.CHILD_ID).alias(FROM), pl.col(RECORDS).cast(pl.Int64),
    )  # fmt: skip


def _retired(previous: pl.DataFrame, heirs: pl.DataFrame) -> pl.DataFrame:
    gone = (
        previous.group_by(s.CHILD_ID)
        .agg(pl.len().alias(RECORDS))
        .join(heirs, on=s.CHILD_ID, how="anti")
    )
    return gone.select(
        pl.lit("retired").alias(KIND), pl.lit(None, pl.String).alias(s.CHILD_ID),
        pl.col(s.CHILD_ID).alias(FROM), pl.col(RECORDS).cast(pl.Int64),
    )  # fmt: skip


def _empty_log() -> pl.DataFrame:
    return pl.DataFrame(
        schema={KIND: pl.String, s.CHILD_ID: pl.String, FROM: pl.String, RECORDS: pl.Int64}
    )
