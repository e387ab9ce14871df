"""The library entry point: ``generate(config, out_dir)`` writes one synthetic data folder."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from features import schema as s
from features.synth.chunk import chunk_sizes, simulate_chunk
from features.synth.config import SynthConfig, check_config
from features.synth.writer import (
    ORACLE_FILE,
    SYNTH_FILE,
    FolderWriter,
    children_frame,
    events_frame,
    oracle_frame,
    synth_metadata,
)


class OutputFolderError(ValueError):
    """The output folder cannot be written (exists and is not empty, or is a file)."""


@dataclass(frozen=True)
class SynthSummary:
    """What a run produced: sizes, the outcome's realised base rate, and the time taken."""

    out_dir: Path
    children: int
    events: int
    oracle_rows: int
    as_of_dates: tuple[date, ...]
    base_rate: float  # realised: share of (child, as-of) rows with an outcome in the horizon
    mean_oracle: float  # mean oracle probability over the same rows
    seconds: float


@dataclass(frozen=True)
class ChunkFrames:
    """One chunk's tables and outcome tallies, as a worker process returns them."""

    children: pl.DataFrame
    events: pl.DataFrame
    oracle: pl.DataFrame
    positives: int
    probability_sum: float


def chunk_frames(config: SynthConfig, index: int) -> ChunkFrames:
    """Simulate chunk ``index`` and turn it into tables (runs in a worker process)."""
    result = simulate_chunk(config, index)
    return ChunkFrames(
        children=children_frame(config, result),
        events=events_frame(config, result),
        oracle=oracle_frame(config, result),
        positives=int(result.oracle.label.sum()),
        probability_sum=float(np.sum(result.oracle.probability)),
    )


def check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputFolderError(f"{out_dir}: exists and is not an empty folder")


def _frames(config: SynthConfig) -> Iterator[ChunkFrames]:
    indices = range(len(chunk_sizes(config)))
    if config.workers <= 1 or len(indices) <= 1:
        yield from (chunk_frames(config, i) for i in indices)
        return
    context = multiprocessing.get_context("spawn")
    workers = min(config.workers, len(indices))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(chunk_frames, [config] * len(indices), indices)


def generate(config: SynthConfig, out_dir: Path) -> SynthSummary:
    """Write children, events, export.json, oracle.parquet and synth.json into ``out_dir``.

    Atomic: everything is written into a temporary folder beside ``out_dir`` and renamed
    at the end. Raises SynthConfigError or OutputFolderError for unusable settings.
    """
    began = time.perf_counter()
    check_config(config)
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    n_events = n_rows = positives = 0
    probability_sum = 0.0
    with FolderWriter(out_dir, config.file_format) as writer:
        for frames in _frames(config):
            writer.append(s.CHILDREN, frames.children)
            writer.append(s.EVENTS, frames.events)
            writer.append(ORACLE_FILE, frames.oracle, "parquet")
            n_events += frames.events.height
            n_rows += frames.oracle.height
            positives += frames.positives
            probability_sum += frames.probability_sum
        writer.write_json(
            s.EXPORT_FILE,
            {
                "exported_at": f"{config.end.isoformat()}T00:00:00",
                "contract_version": s.CONTRACT_VERSION,
            },
        )
        writer.write_json(SYNTH_FILE, synth_metadata(config))
        check_out_dir(out_dir)
        writer.commit()
    return SynthSummary(
        out_dir=out_dir,
        children=config.children,
        events=n_events,
        oracle_rows=n_rows,
        as_of_dates=config.as_of_dates(),
        base_rate=positives / max(n_rows, 1),
        mean_oracle=probability_sum / max(n_rows, 1),
        seconds=time.perf_counter() - began,
    )
