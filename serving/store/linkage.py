"""What a linked folder adds to the store, loaded in the same transaction as its children
and events (serving.store.load).

A folder `riskflag link` wrote carries, beside the contract's files, who is who
(features/linkage/output.py): each record's link, each child's identity, the open review
pairs, the change log against the previous run and each event's source record. Loading
it:

- gives each event its ``source`` and ``source_record_id``;
- replaces ``links``, ``identities`` and ``review_pairs`` with this run's (the latest
  linkage is the one account of who is who; pairs decided since stay decided, because
  `riskflag link` read the decisions before it wrote the queue);
- appends the change log to ``child_changes`` with the load's id, and marks each child
  merged into another (``children.merged_into``): its events arrive with the surviving
  child's id and move to it; its own decisions and audit trail stay under its id, and
  the surviving child's pages read both.

A folder without ``links.parquet`` (a contract folder riskflag did not link) changes none
of these tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl
from sqlalchemy import Table, delete, update
from sqlalchemy.engine import Connection

from features import schema as s
from features.linkage import schema as ls
from features.linkage.ids import FROM, KIND
from serving.store.tables import (
    CHILD_CHANGES,
    CHILDREN,
    IDENTITIES,
    LINKS,
    REVIEW_PAIRS,
)

# the files of a linked folder that are part of what a load is (its SHA-256)
LINKAGE_FILES: Final = (
    ls.LINKS_FILE,
    ls.IDENTITIES_FILE,
    ls.REVIEW_FILE,
    ls.CHANGES_FILE,
    ls.EVENT_RECORDS_FILE,
)
SOURCE_RECORD_ID: Final = "source_record_id"
CHUNK_ROWS: Final = 2_000


def is_linked(folder: Path) -> bool:
    return (Path(folder) / ls.LINKS_FILE).is_file()


def with_sources(folder: Path, events: pl.DataFrame) -> pl.DataFrame:
    """``events`` with each one's ``source`` and ``source_record_id`` (None where the
    folder was not linked by riskflag)."""
    path = Path(folder) / ls.EVENT_RECORDS_FILE
    if not path.is_file():
        return events.with_columns(
            pl.lit(None, pl.String).alias(ls.SOURCE),
            pl.lit(None, pl.String).alias(SOURCE_RECORD_ID),
        )
    sourced = pl.read_parquet(path).rename({ls.RECORD_ID: SOURCE_RECORD_ID})
    return events.join(sourced, on=s.EVENT_ID, how="left")


def load_linkage(connection: Connection, folder: Path, load_id: int) -> None:
    """Replace the linkage tables with ``folder``'s and apply its change log (see the
    module docstring); nothing for a folder that was not linked."""
    if not is_linked(folder):
        return
    folder = Path(folder)
    links = pl.read_parquet(folder / ls.LINKS_FILE)
    identities = pl.read_parquet(folder / ls.IDENTITIES_FILE).filter(~pl.col(ls.HELD_BACK))
    review = pl.read_parquet(folder / ls.REVIEW_FILE)
    changes = pl.read_parquet(folder / ls.CHANGES_FILE)
    for table in (LINKS, IDENTITIES, REVIEW_PAIRS):
        connection.execute(delete(table))
    _insert(connection, LINKS, links.select(c.name for c in LINKS.columns))
    _insert(
        connection,
        IDENTITIES,
        identities.select(
            s.CHILD_ID,
            "name",
            "id_number",
            s.BIRTH_DATE,
            pl.col(ls.PRECISION).alias("birth_precision"),
            s.SEX,
        ),
    )
    _insert(
        connection,
        REVIEW_PAIRS,
        review.with_columns(pl.lit(load_id).alias("load_id")).select(
            c.name for c in REVIEW_PAIRS.columns if c.name != "id"
        ),
    )
    _insert(
        connection,
        CHILD_CHANGES,
        changes.with_columns(pl.lit(load_id).alias("load_id")).select(
            c.name for c in CHILD_CHANGES.columns if c.name != "id"
        ),
    )
    merges = changes.filter(pl.col(KIND) == "merged").select(s.CHILD_ID, FROM)
    for into, merged in merges.iter_rows():
        connection.execute(
            update(CHILDREN).where(CHILDREN.c.child_id == merged).values(merged_into=into)
        )


def _insert(connection: Connection, table: Table, frame: pl.DataFrame) -> None:
    for start in range(0, frame.height, CHUNK_ROWS):
        connection.execute(table.insert(), frame.slice(start, CHUNK_ROWS).to_dicts())
