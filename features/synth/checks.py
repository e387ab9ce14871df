"""Read a generated folder back and measure it: realised labels, a simple signal, AUC.

Used by the tests and the benchmark; everything here reads only the written files, so
it checks the generator the way a user of the data would see it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from features import schema as s
from features.synth.arrays import BoolArray, FloatArray
from features.synth.writer import ORACLE_FILE

AS_OF = "as_of"
LABEL = "label"


def read_table(folder: Path, name: str) -> pl.DataFrame:
    """A table of the folder, from whichever of parquet or CSV is there."""
    parquet = folder / f"{name}.parquet"
    if parquet.exists():
        return pl.read_parquet(parquet)
    return pl.read_csv(folder / f"{name}.csv", try_parse_dates=True, infer_schema_length=None)


def outcome_events(events: pl.DataFrame) -> pl.DataFrame:
    """Events that meet the contract's default outcome definition."""
    kind, detail, severity = pl.col(s.EVENT_TYPE), pl.col(s.DETAIL), pl.col(s.SEVERITY)
    return events.filter(
        kind.is_in(["welfare.emergency_removal", "police.rescue"])
        | ((kind == "welfare.finding") & (detail == "substantiated") & (severity == 3))
        | ((kind == "health.injury") & (detail == "suspicious") & (severity >= 2))
    )


def with_labels(oracle: pl.DataFrame, events: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """The oracle rows with ``label``: an outcome with occurred_at in (D, D + horizon]."""
    outcomes = outcome_events(events).select(s.CHILD_ID, s.OCCURRED_AT)
    start = pl.col(AS_OF).cast(s.TIMESTAMP_DTYPE)
    hits = (
        oracle.select(s.CHILD_ID, AS_OF)
        .join(outcomes, on=s.CHILD_ID)
        .filter(
            (pl.col(s.OCCURRED_AT) > start)
            & (pl.col(s.OCCURRED_AT) <= start + pl.duration(days=horizon_days))
        )
        .select(s.CHILD_ID, AS_OF)
        .unique()
        .with_columns(pl.lit(True).alias(LABEL))
    )
    return oracle.join(hits, on=[s.CHILD_ID, AS_OF], how="left").with_columns(
        pl.col(LABEL).fill_null(False)
    )


def with_report_counts(rows: pl.DataFrame, events: pl.DataFrame, days: int = 365) -> pl.DataFrame:
    """Add ``reports``: report.concern recorded in the ``days`` before D (recorded <= D)."""
    reports = events.filter(pl.col(s.EVENT_TYPE) == "report.concern").select(
        s.CHILD_ID, s.RECORDED_AT
    )
    end = pl.col(AS_OF).cast(s.TIMESTAMP_DTYPE)
    counts = (
        rows.select(s.CHILD_ID, AS_OF)
        .join(reports, on=s.CHILD_ID)
        .filter(
            (pl.col(s.RECORDED_AT) <= end) & (pl.col(s.RECORDED_AT) > end - pl.duration(days=days))
        )
        .group_by(s.CHILD_ID, AS_OF)
        .len("reports")
    )
    return rows.join(counts, on=[s.CHILD_ID, AS_OF], how="left").with_columns(
        pl.col("reports").fill_null(0)
    )


def auc(score: FloatArray, label: BoolArray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    label = np.asarray(label, dtype=bool)
    n_pos = int(label.sum())
    n_neg = len(label) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pl.Series(np.asarray(score, dtype=np.float64)).rank("average").to_numpy()
    return float((ranks[label].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def labelled_oracle(folder: Path) -> pl.DataFrame:
    """oracle.parquet of a folder with realised labels and the 365-day report count."""
    oracle = pl.read_parquet(folder / f"{ORACLE_FILE}.parquet")
    events = read_table(folder, s.EVENTS)
    horizon = int(oracle["horizon_days"][0]) if oracle.height else s.URGENT_OUTCOME_HORIZON_DAYS
    return with_report_counts(with_labels(oracle, events, horizon), events)
