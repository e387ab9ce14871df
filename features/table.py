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
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from features.build import FeatureTable, build_features
from features.config import FeatureConfig, Policy
from features.contract import CaseHistories

META_PREFIX = "riskflag."
# Children per shard when the shard count is chosen automatically: about 3 GB of peak
# memory per shard on top of the loaded case histories (measured with 24 as-of dates).
CHILDREN_PER_SHARD = 150_000


@dataclass(frozen=True)
class WrittenTable:
    path: Path
    rows: int
    columns: int
    children: int
    labelled: int
    positives: int
    shards: int


def table_metadata(table: FeatureTable, histories: CaseHistories) -> dict[str, str]:
    values: dict[str, Any] = {
        "format": 1,
        "registry": table.registry.to_dicts(),
        "config": asdict(table.config),
        "config_sha256": table.config.digest(),
        "policy": asdict(table.policy),
        "policy_sha256": table.policy.digest(),
        "as_of": [d.isoformat() for d in table.grid.dates],
        "label": {"name": table.label, "horizon_days": table.config.label.horizon_days},
        "source": {
            "folder": str(histories.source),
            "exported_at": histories.exported_at.isoformat(),
        },
    }
    return {
        META_PREFIX + key: value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False)
        for key, value in values.items()
    }


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
    if shards is None:
        children_count = histories.children.select(pl.len()).collect().item()
        shards = max(1, -(-children_count // CHILDREN_PER_SHARD))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file readable by its owner only, and so it stays: a feature
    # table is child-level data (deny by default; widen it deliberately if needed)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    rows = children = labelled = positives = 0
    writer: pq.ParquetWriter | None = None
    try:
        for index in range(shards):
            table = build_features(
                histories, config, policy, as_of, shard=None if shards == 1 else (index, shards)
            )
            frame = table.frame.collect(engine="in-memory")  # faster here than streaming
            arrow = frame.to_arrow()
            if writer is None:
                metadata = table_metadata(table, histories)
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
    return WrittenTable(out, rows, columns, children, labelled, positives, shards)


def read_metadata(path: Path) -> dict[str, Any]:
    """The provenance stored in a feature table, decoded."""
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
