"""Chunk results to contract tables, and an atomic folder writer that appends chunk by chunk.

Tables are written in child order (chunks are consecutive ranges of children), so the
chunk-by-chunk output is globally sorted: children by child_id, events by child_id then
occurred_at, the oracle by child_id then as_of.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from features import schema as s
from features.synth.arrays import DAY, IntArray
from features.synth.chunk import ChunkResult
from features.synth.config import SynthConfig
from features.synth.params import GENERATOR_VERSION

ORACLE_FILE = "oracle"
SYNTH_FILE = "synth.json"
_EPOCH = date(1970, 1, 1)


def codes(names: tuple[str, ...], index: IntArray) -> pl.Series:
    """Strings for code indices; index -1 gives null (both generators write codes so)."""
    idx = pl.Series(np.where(index >= 0, index, 0)).set(pl.Series(index < 0), None)
    return pl.Series(names).gather(idx)


def ids(prefix: str, number: IntArray, width: int = 8) -> pl.Series:
    """``prefix`` + the number zero-padded to ``width`` digits: child and household ids."""
    digits = pl.Series(number, dtype=pl.Int64).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix) + digits).to_series()


def child_numbers(config: SynthConfig, result: ChunkResult, local: IntArray) -> IntArray:
    """1-based global child numbers of a chunk's local child indices."""
    return np.asarray(result.index * config.chunk_size + local + 1, dtype=np.int64)


def children_frame(config: SynthConfig, result: ChunkResult) -> pl.DataFrame:
    pop = result.population
    unit = pop.unit
    number = child_numbers(config, result, np.arange(pop.n_children))
    household = np.where(pop.hh_id_known[unit], result.index * config.chunk_size + unit + 1, -1)
    hh_id = ids("HH", np.maximum(household, 0)).set(pl.Series(household < 0), None)
    districts = tuple(name for name, _ in config.params.districts)
    return pl.DataFrame(
        {
            s.CHILD_ID: ids("BJ", number),
            s.BIRTH_DATE: pl.Series(pop.birth_day + (config.start - _EPOCH).days).cast(pl.Date),
            s.SEX: codes(s.SEX_VALUES, pop.sex),
            s.DISTRICT: codes(districts, pop.hh_district[unit]),
            s.HUKOU: codes(s.HUKOU_VALUES, pop.hh_hukou[unit]),
            s.ETHNICITY: codes(s.ETHNICITY_VALUES, pop.hh_ethnicity[unit]),
            s.HOUSEHOLD_ID: hh_id,
        }
    )


def timestamps(start: date, seconds: IntArray) -> pl.Series:
    """Contract timestamps of times in seconds from ``start`` 00:00 (the generators' clock)."""
    origin = (start - _EPOCH).days * DAY
    return pl.Series((seconds + origin) * 1_000_000).cast(s.TIMESTAMP_DTYPE)


def sequence(child: IntArray) -> IntArray:
    """1-based position of each event within its child's (contiguous) run: the event id's tail."""
    if not len(child):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, child[1:] != child[:-1]])
    lengths = np.diff(np.r_[starts, len(child)])
    return np.arange(len(child)) - np.repeat(starts, lengths) + 1


def events_frame(config: SynthConfig, result: ChunkResult) -> pl.DataFrame:
    ev = result.events
    child_id = ids("BJ", child_numbers(config, result, ev.child))
    event_id = child_id + "-" + pl.Series(sequence(ev.child)).cast(pl.String).str.zfill(4)
    severity = pl.Series(ev.severity).set(pl.Series(ev.severity < 0), None).cast(pl.Int8)
    return pl.DataFrame(
        {
            s.EVENT_ID: event_id,
            s.CHILD_ID: child_id,
            s.EVENT_TYPE: codes(s.EVENT_TYPES, ev.etype),
            s.OCCURRED_AT: timestamps(config.start, ev.occurred),
            s.RECORDED_AT: timestamps(config.start, ev.recorded),
            s.SEVERITY: severity,
            s.AMOUNT: pl.Series(ev.amount, nan_to_null=True),
            s.DETAIL: codes(s.DETAIL_CODES, ev.detail),
        }
    )


def oracle_frame(config: SynthConfig, result: ChunkResult) -> pl.DataFrame:
    rows = result.oracle
    dates = pl.Series(config.as_of_dates(), dtype=pl.Date)
    order = np.lexsort((rows.as_of, rows.child))
    return pl.DataFrame(
        {
            s.CHILD_ID: ids("BJ", child_numbers(config, result, rows.child[order])),
            "as_of": dates.gather(pl.Series(rows.as_of[order])),
            "horizon_days": pl.Series(np.full(len(order), config.horizon_days), dtype=pl.Int32),
            "probability": pl.Series(rows.probability[order], dtype=pl.Float64),
        }
    )


class FolderWriter:
    """Writes tables chunk by chunk into a temporary folder beside ``out_dir``, then renames.

    Used as a context manager: on an exception the temporary folder is removed and
    ``out_dir`` is untouched.
    """

    def __init__(self, out_dir: Path, file_format: str) -> None:
        self.out_dir = out_dir
        self.file_format = file_format
        self.tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._parquet: dict[str, pq.ParquetWriter] = {}
        self._csv_started: set[str] = set()

    def __enter__(self) -> FolderWriter:
        self.tmp.mkdir(parents=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for writer in self._parquet.values():
            writer.close()
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def append(self, name: str, frame: pl.DataFrame, file_format: str | None = None) -> None:
        """Append rows to table ``name`` (format: the folder's, or the one given)."""
        fmt = file_format or self.file_format
        path = self.tmp / f"{name}.{fmt}"
        if fmt == "csv":
            with path.open("ab") as handle:
                frame.write_csv(
                    handle, include_header=name not in self._csv_started,
                    datetime_format="%Y-%m-%dT%H:%M:%S", date_format="%Y-%m-%d",
                )  # fmt: skip
            self._csv_started.add(name)
            return
        table = frame.to_arrow()
        if name not in self._parquet:
            self._parquet[name] = pq.ParquetWriter(path, table.schema, compression="zstd")
        self._parquet[name].write_table(pa.Table.from_batches(table.to_batches(), table.schema))

    def write_json(self, name: str, content: dict[str, Any]) -> None:
        text = json.dumps(content, indent=2, sort_keys=False, default=str) + "\n"
        (self.tmp / name).write_text(text, encoding="utf-8")

    def commit(self) -> None:
        """Close the tables and move the folder into place (``out_dir`` must be empty)."""
        for writer in self._parquet.values():
            writer.close()
        self._parquet.clear()
        if self.out_dir.exists():
            self.out_dir.rmdir()
        self.tmp.rename(self.out_dir)


def synth_metadata(config: SynthConfig) -> dict[str, Any]:
    """synth.json: what produced the folder, enough to produce it again."""
    return {
        "generator": "riskflag synth",
        "version": GENERATOR_VERSION,
        "seed": config.seed,
        "children": config.children,
        "start": config.start.isoformat(),
        "end": config.end.isoformat(),
        "format": config.file_format,
        "horizon_days": config.horizon_days,
        "oracle_as_of": [d.isoformat() for d in config.as_of_dates()],
        "chunk_size": config.chunk_size,
        "params": asdict(config.params),
    }
