"""``generate_strain``: one strain world written as a data folder with its oracle.

Why: the model benchmark judges models on folders, so this world is written exactly as
the data contract says (and as our own generator writes it), beside an
``oracle.parquet`` the benchmark joins on (child_id, as_of). How: the world is
simulated in memory (``world.simulate_world``), turned into the contract's typed
tables (child ids ``SW00000001``..., household ids ``SH...``, event ids child id +
``-`` + a 5-digit sequence in time order), and written atomically: into a temporary
folder beside ``out``, renamed at the end. Histories start on 2019-01-01: what happened
before (a parent who left in 2017, a school entered in 2016) is not in the records.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features import schema as s
from features.synth.arrays import TimeGrid
from features.synth.config import default_as_of_dates
from features.synth.generator import OutputFolderError, check_out_dir
from features.synth.writer import FolderWriter, codes, ids, sequence, timestamps
from features.worlds.strain.params import GENERATOR, GENERATOR_VERSION, StrainParams
from features.worlds.strain.world import World, simulate_world

START = date(2019, 1, 1)
END = date(2025, 12, 31)
HORIZON_DAYS = s.URGENT_OUTCOME_HORIZON_DAYS
ORACLE_FILE = "oracle"
META_FILE = "strain.json"
_EPOCH = date(1970, 1, 1)


def generate_strain(
    children: int, seed: int, out: Path, params: StrainParams | None = None
) -> None:
    """Write children, events, export.json, oracle.parquet and strain.json into ``out``.

    ``out`` is created; an existing non-empty folder (or a file) is refused with
    ``OutputFolderError``. The output depends only on (children, seed, params).
    """
    if children < 1:
        raise ValueError(f"children must be at least 1, got {children}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    out = Path(out)
    check_out_dir(out)
    params = params or StrainParams()
    world = build_world(children, seed, params)
    with FolderWriter(out, "parquet") as writer:
        writer.append(s.CHILDREN, children_frame(params, world))
        writer.append(s.EVENTS, events_frame(world))
        writer.append(ORACLE_FILE, oracle_frame(world))
        export = {"exported_at": f"{END.isoformat()}T00:00:00"}
        export["contract_version"] = s.CONTRACT_VERSION
        writer.write_json(s.EXPORT_FILE, export)
        writer.write_json(META_FILE, metadata(children, seed, params))
        check_out_dir(out)
        writer.commit()


def build_world(children: int, seed: int, params: StrainParams | None = None) -> World:
    """The world ``generate_strain`` writes, in memory (for tests and measurements)."""
    dates = default_as_of_dates(START, END, HORIZON_DAYS)
    grid = TimeGrid(START, END)
    return simulate_world(params or StrainParams(), children, seed, grid, dates, HORIZON_DAYS)


def children_frame(params: StrainParams, world: World) -> pl.DataFrame:
    """The children table, typed as the contract's schema."""
    pop = world.pop
    unit = pop.unit
    household = ids("SH", unit + 1).set(pl.Series(~pop.hh_id_known[unit]), None)
    districts = tuple(name for name, _ in params.districts)
    origin = (world.grid.start - _EPOCH).days
    frame = pl.DataFrame(
        {
            s.CHILD_ID: ids("SW", np.arange(pop.n_children) + 1),
            s.BIRTH_DATE: pl.Series(pop.birth_day + origin).cast(pl.Date),
            s.SEX: codes(s.SEX_VALUES, pop.sex),
            s.DISTRICT: codes(districts, pop.hh_district[unit]),
            s.HUKOU: codes(s.HUKOU_VALUES, pop.hh_hukou[unit]),
            s.ETHNICITY: codes(s.ETHNICITY_VALUES, pop.hh_ethnicity[unit]),
            s.HOUSEHOLD_ID: household,
        }
    )
    return frame.cast(dict(s.CHILDREN_SCHEMA))  # type: ignore[arg-type]


def events_frame(world: World) -> pl.DataFrame:
    """The events table (sorted by child, then time), typed as the contract's schema."""
    ev = world.events
    child_id = ids("SW", ev.child + 1)
    event_id = child_id + "-" + pl.Series(sequence(ev.child)).cast(pl.String).str.zfill(5)
    severity = pl.Series(ev.severity).set(pl.Series(ev.severity < 0), None).cast(pl.Int8)
    frame = pl.DataFrame(
        {
            s.EVENT_ID: event_id,
            s.CHILD_ID: child_id,
            s.EVENT_TYPE: codes(s.EVENT_TYPES, ev.etype),
            s.OCCURRED_AT: timestamps(world.grid.start, ev.occurred),
            s.RECORDED_AT: timestamps(world.grid.start, ev.recorded),
            s.SEVERITY: severity,
            s.AMOUNT: pl.Series(ev.amount, nan_to_null=True),
            s.DETAIL: codes(s.DETAIL_CODES, ev.detail),
        }
    )
    return frame.cast(dict(s.EVENTS_SCHEMA))  # type: ignore[arg-type]


def oracle_frame(world: World) -> pl.DataFrame:
    """oracle.parquet: child_id, as_of, horizon_days, probability, by child then date."""
    rows = world.oracle
    dates = pl.Series(world.as_of_dates, dtype=pl.Date)
    order = np.lexsort((rows.as_of, rows.child))
    return pl.DataFrame(
        {
            s.CHILD_ID: ids("SW", rows.child[order] + 1),
            "as_of": dates.gather(pl.Series(rows.as_of[order])),
            "horizon_days": pl.Series(np.full(len(order), HORIZON_DAYS), dtype=pl.Int32),
            "probability": pl.Series(rows.probability[order], dtype=pl.Float64),
        }
    )


def metadata(children: int, seed: int, params: StrainParams) -> dict[str, Any]:
    """strain.json: what produced the folder, enough to produce it again."""
    dates = default_as_of_dates(START, END, HORIZON_DAYS)
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "seed": seed,
        "children": children,
        "start": START.isoformat(),
        "end": END.isoformat(),
        "horizon_days": HORIZON_DAYS,
        "oracle_as_of": [d.isoformat() for d in dates],
        "params": asdict(params),
    }


__all__ = ["OutputFolderError", "build_world", "generate_strain"]
