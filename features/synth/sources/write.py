"""The library entry points: ``write_sources`` (a truth folder in, source exports out) and
``generate_with_sources`` (what ``riskflag synth --sources`` runs).

Why: linkage needs input that looks like what the divisions hand over (source-exports.md)
and, beside it, the answer: which child each record really is. The truth folder of
``generate`` is that answer's other half, so the sources are made from it, never the
other way round, and the truth's children and events stay exactly as they were.

How: identities are drawn once for all children; then, source by source, the records
(``records.py``), their noise (``noise.py``) and their events are built and appended to
a temporary folder beside ``out_dir`` that is renamed at the end (``FolderWriter``).
Person records and the truth are identity data: their files are written owner-readable
only (0600; folders 0700). Randomness: one numpy stream for the identities and one per
source, all from ``seed``, so the same truth and seed give the same bytes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from features import schema as s
from features.contract.files import locate_table, read_exported_at
from features.deployment import Deployment
from features.linkage import schema as ls
from features.synth.config import SynthConfig, check_config
from features.synth.generator import SynthSummary, check_out_dir, generate
from features.synth.sources.batch import Truth
from features.synth.sources.identity import build_identities
from features.synth.sources.noise import NOISE, person_records
from features.synth.sources.rates import SourceNoise
from features.synth.sources.records import CHILD, source_records
from features.synth.writer import FolderWriter

_STREAM = 0x5EED  # keeps these streams apart from the truth generator's (seed, chunk)
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
TRUTH = "truth"
SOURCES = ls.SOURCES_DIR
DEFAULT_NOISE = SourceNoise()


@dataclass(frozen=True)
class SourcesSummary:
    """What ``write_sources`` wrote: sizes per source, measured noise, time taken."""

    out_dir: Path
    truth_file: Path
    children: int
    records: Mapping[str, int]  # person records per source
    events: Mapping[str, int]  # events per source
    noise: Mapping[str, float]  # share of all person records showing each noise kind
    seconds: float


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM, stream)))


def _scan(folder: Path, name: str) -> pl.LazyFrame:
    """A truth table, typed as the contract's (CSV columns are parsed)."""
    path = locate_table(folder, name)
    if path.suffix == ".parquet":
        return pl.scan_parquet(path)
    frame = pl.scan_csv(path, infer_schema=False)
    if name == s.CHILDREN:
        return frame.with_columns(pl.col(s.BIRTH_DATE).str.to_date("%Y-%m-%d"))
    return frame.with_columns(
        pl.col(s.OCCURRED_AT, s.RECORDED_AT).str.to_datetime(time_unit="us"),
        pl.col(s.SEVERITY).cast(pl.Int8),
        pl.col(s.AMOUNT).cast(pl.Float64),
    )


def _exported_at(truth_dir: Path, events: pl.LazyFrame) -> datetime:
    moment = read_exported_at(truth_dir, Deployment().zone)
    if moment is None:
        latest = events.select(pl.col(s.RECORDED_AT).max()).collect().item()
        moment = latest if isinstance(latest, datetime) else datetime.now()
    return moment


def _truth(children: pl.DataFrame, rng: np.random.Generator, noise: SourceNoise) -> Truth:
    return Truth(
        identities=build_identities(children, rng, noise),
        sex=children[s.SEX].cast(pl.String).to_numpy(),
        hukou=children[s.HUKOU].cast(pl.String).to_numpy(),
        ethnicity=children[s.ETHNICITY].cast(pl.String).to_numpy(),
        district=children[s.DISTRICT].to_numpy(),
    )


@dataclass(frozen=True)
class _Run:
    """What every source of one ``write_sources`` call is made from."""

    seed: int
    noise: SourceNoise
    truth: Truth
    child_ids: pl.Series  # the truth's child_id by row
    events: pl.LazyFrame  # the truth's events
    exported_at: datetime

    def source_events(self, prefix: str) -> pl.DataFrame:
        """The events of one source with ``child``, the row of their child in the truth."""
        lookup = pl.LazyFrame(
            {s.CHILD_ID: self.child_ids, CHILD: np.arange(len(self.child_ids), dtype=np.int64)}
        )
        mine = self.events.filter(
            pl.col(s.EVENT_TYPE).cast(pl.String).str.starts_with(f"{prefix}.")
        )
        return mine.join(lookup, on=s.CHILD_ID, how="inner").collect()


def _write_source(
    run: _Run, writer: FolderWriter, number: int, source: str
) -> tuple[pl.DataFrame, int]:
    """Append one source's persons and events; return its rows of the truth and the
    number of its events."""
    rng = _rng(run.seed, number)
    events = run.source_events(ls.KNOWN_SOURCES[source])
    made = source_records(rng, source, events, run.truth.identities, run.exported_at, run.noise)
    persons = person_records(rng, made.batch, run.truth, run.noise, made.record_id)
    (writer.tmp / source).mkdir(mode=PRIVATE_FOLDER)
    writer.append(f"{source}/{ls.PERSONS}", persons.select(ls.PERSONS_COLUMNS))
    writer.append(f"{source}/{ls.EVENTS}", made.events)
    child_id = run.child_ids.gather(pl.Series(made.batch.child)).alias(s.CHILD_ID)
    rows = persons.select(pl.lit(source).alias(ls.SOURCE), ls.RECORD_ID, child_id, NOISE)
    return rows, made.events.height


def write_sources(
    truth_dir: Path, out_dir: Path, seed: int, noise: SourceNoise = DEFAULT_NOISE
) -> SourcesSummary:
    """Write the seven sources' person records and events into ``out_dir`` (new or empty)
    and the truth of every record (``records.parquet``: source, record_id, child_id, noise)
    into ``truth_dir``.

    ``truth_dir`` is a contract v1 folder (``generate``'s); its children and events are
    only read. Raises OutputFolderError for an unusable ``out_dir``.
    """
    began = time.perf_counter()
    truth_dir, out_dir = Path(truth_dir), Path(out_dir)
    check_out_dir(out_dir)
    children = _scan(truth_dir, s.CHILDREN).collect()
    events = _scan(truth_dir, s.EVENTS)
    truth = _truth(children, _rng(seed, 0), noise)
    run = _Run(seed, noise, truth, children[s.CHILD_ID], events, _exported_at(truth_dir, events))
    with FolderWriter(out_dir, "parquet") as writer:
        writer.tmp.chmod(PRIVATE_FOLDER)
        written = {
            source: _write_source(run, writer, number, source)
            for number, source in enumerate(ls.KNOWN_SOURCES, start=1)
        }
        if (truth_dir / s.EXPORT_FILE).is_file():
            shutil.copyfile(truth_dir / s.EXPORT_FILE, writer.tmp / s.EXPORT_FILE)
        _private_tree(writer.tmp)
        check_out_dir(out_dir)
        records = pl.concat(rows for rows, _ in written.values())
        truth_file = _write_private(records, truth_dir / ls.TRUTH_FILE, writer.commit)
    return SourcesSummary(
        out_dir=out_dir,
        truth_file=truth_file,
        children=children.height,
        records={source: rows.height for source, (rows, _) in written.items()},
        events={source: n for source, (_, n) in written.items()},
        noise=noise_shares(records),
        seconds=time.perf_counter() - began,
    )


def _private_tree(folder: Path) -> None:
    """Owner-only permissions on everything under ``folder`` (files 0600, folders 0700)."""
    for path in sorted(folder.rglob("*")):
        path.chmod(PRIVATE_FOLDER if path.is_dir() else PRIVATE_FILE)


def _write_private(
    frame: pl.DataFrame, out: Path, before_rename: Callable[[], None] | None = None
) -> Path:
    """Write ``frame`` to ``out`` atomically, owner-readable only (mkstemp makes it 0600).

    ``before_rename`` (a callable) runs after the file is complete and before it replaces
    ``out``: the sources folder is committed first, so a truth never describes a folder
    that was not written."""
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        frame.write_parquet(temporary, compression="zstd")
        if before_rename is not None:
            before_rename()
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def noise_shares(records: pl.DataFrame) -> dict[str, float]:
    """The share of all person records showing each noise kind."""
    total = max(records.height, 1)
    counts = records.select(pl.col(NOISE).explode().drop_nulls().value_counts(sort=True))
    return {row[NOISE]: row["count"] / total for row in counts.unnest(NOISE).iter_rows(named=True)}


def generate_with_sources(
    config: SynthConfig, out_dir: Path, noise: SourceNoise = DEFAULT_NOISE
) -> tuple[SynthSummary, SourcesSummary]:
    """``out_dir/truth`` (``generate``'s folder and ``records.parquet``) and
    ``out_dir/sources`` (``write_sources`` with the same seed), written atomically."""
    check_config(config)
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        synth = generate(config, tmp / TRUTH)
        sources = write_sources(tmp / TRUTH, tmp / SOURCES, config.seed, noise)
        check_out_dir(out_dir)
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    truth = out_dir / TRUTH
    return replace(synth, out_dir=truth), replace(
        sources, out_dir=out_dir / SOURCES, truth_file=truth / ls.TRUTH_FILE
    )
