"""Writing and reading feature tables: Parquet carrying its own provenance.

The file's metadata holds the registry (every column described in English and Chinese),
the configuration and policy with their SHA-256, the as-of dates, the label definition
and the source export, so a table can always be traced to what made it. Writes are
atomic (a temporary file beside the target, then a rename). Built shard by shard, each
shard is collected and appended as its own row groups, so memory is bounded by a shard.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import features.separations as fs
from features.build import FeatureTable, build_features
from features.config import FeatureConfig, Policy
from features.contract import CaseHistories

META_PREFIX = "riskflag."
# beside a table written by Spark as Parquet parts: its exact schema and its provenance
SIDECAR = "_riskflag.parquet"
# Children per shard when the shard count is chosen automatically: about 3 GB of peak
# memory per shard on top of the loaded case histories (measured with 24 as-of dates).
CHILDREN_PER_SHARD = 150_000


Shard = tuple[int, int] | None  # (index, count), or None: one build holds every child


def shard_plan(histories: CaseHistories, shards: int | None = None) -> list[Shard]:
    """The shards a build of ``histories`` runs in (households kept together): ``shards``
    of them, or by default one per CHILDREN_PER_SHARD children, so that memory follows a
    shard, not the population; ``[None]`` when one build holds them all."""
    if shards is None:
        children = histories.children.select(pl.len()).collect().item()
        shards = max(1, -(-children // CHILDREN_PER_SHARD))
    return [None] if shards == 1 else [(index, shards) for index in range(shards)]


@dataclass(frozen=True)
class WrittenTable:
    path: Path
    rows: int
    columns: int
    children: int
    labelled: int
    positives: int
    shards: int


def table_metadata(
    table: FeatureTable,
    source: str | Path,
    exported_at: datetime,
    corrections: Mapping[str, Any] | None = None,
    separations: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The provenance a table carries: what made it, from which export."""
    values: dict[str, Any] = {
        "format": 1,
        "registry": table.registry.to_dicts(),
        "config": asdict(table.config),
        "config_sha256": table.config.digest(),
        "policy": asdict(table.policy),
        "policy_sha256": table.policy.digest(),
        "as_of": [d.isoformat() for d in table.grid.dates],
        "label": {"name": table.label, "horizon_days": table.config.label.horizon_days},
        "source": {"folder": str(source), "exported_at": exported_at.isoformat()},
        # the record corrections the events were read with (count, sha256), if any
        "corrections": corrections,
        # the household markings honoured (count, sha256: features.separations), if any
        "separations": separations,
    }
    return {
        META_PREFIX + key: value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False)
        for key, value in values.items()
    }


def separations_of(histories: CaseHistories) -> dict[str, Any] | None:
    """The provenance of the household markings ``histories`` carry, or None."""
    if histories.separations is None:
        return None
    return fs.provenance(histories.separations)


def write_features(
    histories: CaseHistories,
    config: FeatureConfig,
    policy: Policy,
    as_of: list[date],
    out: Path,
    shards: int | None = None,
) -> WrittenTable:
    """Build the feature table (whole, or shard by shard) and write it atomically.

    ``shards=None`` picks one shard per CHILDREN_PER_SHARD children, so memory stays
    bounded whatever the size; the rows are the same for any shard count (each shard
    sorted by child and date)."""
    plan = shard_plan(histories, shards)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file readable by its owner only, and so it stays: a feature
    # table is child-level data (deny by default; widen it deliberately if needed)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    rows = children = labelled = positives = 0
    writer: pq.ParquetWriter | None = None
    try:
        for shard in plan:
            table = build_features(histories, config, policy, as_of, shard=shard)
            frame = table.frame.collect(engine="in-memory")  # faster here than streaming
            arrow = frame.to_arrow()
            if writer is None:
                metadata = table_metadata(
                    table,
                    histories.source,
                    histories.exported_at,
                    histories.corrections,
                    separations_of(histories),
                )
                schema = arrow.schema.with_metadata(metadata)
                writer = pq.ParquetWriter(temporary, schema, compression="zstd")
                columns = frame.width
            writer.write_table(arrow.cast(writer.schema))
            label = frame[table.label]
            rows += frame.height
            children += frame["child_id"].n_unique()
            labelled += label.count()
            positives += int(label.sum() or 0)
        assert writer is not None
        writer.close()
        os.replace(temporary, out)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(temporary).unlink(missing_ok=True)
        raise
    return WrittenTable(out, rows, columns, children, labelled, positives, len(plan))


def empty_table(schema: pl.Schema) -> pa.Table:
    """No rows, the exact Arrow schema polars writes for ``schema``."""
    return pl.DataFrame(schema=schema).to_arrow()


def sidecar_bytes(empty: pa.Table, metadata: dict[str, str]) -> bytes:
    """The sidecar of a folder of Parquet parts (``_riskflag.parquet``): no rows, the exact
    schema and the provenance, as Parquet bytes for whichever file system holds the folder."""
    buffer = pa.BufferOutputStream()
    pq.write_table(empty.replace_schema_metadata(metadata), buffer)
    return bytes(buffer.getvalue().to_pybytes())


def read_table(path: str | Path) -> pl.LazyFrame:
    """A feature or score table as one machine writes it: a Parquet file, or a folder of
    parts partitioned by as_of (the Spark engine's) read back to the very same schema."""
    where = Path(path)
    if not where.is_dir():
        return pl.scan_parquet(where)
    sidecar = where / SIDECAR
    if not sidecar.exists():
        raise FileNotFoundError(f"{where}: no {SIDECAR}: not a complete table written by riskflag")
    schema = pl.read_parquet_schema(sidecar)
    parts = pl.scan_parquet(
        str(where / "as_of=*" / "*.parquet"),
        hive_partitioning=True,
        hive_schema={"as_of": pl.Date()},
        schema=None,
    )
    return restore(parts, pl.Schema(schema))


def restore(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """Columns in ``schema``'s order, each cast strictly to its type (back from Spark's)."""
    return frame.select(pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items())


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The provenance stored in a feature table (a file, or a folder's sidecar), decoded."""
    if Path(path).is_dir():
        path = Path(path) / SIDECAR
    raw = pq.read_schema(path).metadata or {}
    out = {}
    for key, value in raw.items():
        name = key.decode()
        if name.startswith(META_PREFIX):
            text = value.decode()
            try:
                out[name.removeprefix(META_PREFIX)] = json.loads(text)
            except json.JSONDecodeError:
                out[name.removeprefix(META_PREFIX)] = text
    return out
