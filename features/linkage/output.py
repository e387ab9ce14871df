"""What linkage writes, atomically, into one folder readable by its owner only.

- the contract v1 folder: ``children``, ``events`` (event ids prefixed by their source,
  since two systems may number alike), ``export.json``;
- ``links.parquet``: every source record with its child, how it was joined and the
  strongest link that joined it, and ``family_only`` where that link rested on the
  family's evidence alone (a nameless report joined to its family's one child);
- ``identities.parquet``: each child's resolved name, ID number, birth date (with its
  precision) and sex, and the records each came from. Identity data: used to show a
  child's own caseworker who the child is, never read by features, models or logs;
- ``review.parquet``: pairs in the review band that no person has decided;
- ``changes.parquet``: merges, splits and retirements against ``--previous``;
- ``event_records.parquet``: each event's source and the source record it came from;
- ``model.json``: the trained Splink model (settings, m and u: no record's data), to
  reuse with ``--model``; ``linkage.json``: the policy with its digest, counts, timings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from features import schema as s
from features.deployment import Deployment
from features.linkage import records as r
from features.linkage import schema as ls
from features.linkage.resolve import HELD_BACK, PRECISION
from features.synth.writer import FolderWriter

if TYPE_CHECKING:
    from features.linkage.link import LinkRequest
    from features.linkage.sources import Sources

MODEL_FILE = "model.json"
RECORD = "record"


@dataclass(frozen=True)
class LinkageOutput:
    """What a run wrote: the folder and the counts recorded in linkage.json."""

    out: Path
    counts: dict[str, Any]


def write_linkage(
    request: LinkRequest,
    linked: pl.DataFrame,
    children: pl.DataFrame,
    sources: Sources,
    review: pl.DataFrame,
    changes: pl.DataFrame,
    model: dict[str, Any],
) -> LinkageOutput:
    """Write every table of a linkage run into ``request.out`` (new or empty)."""
    kept = children.filter(~pl.col(HELD_BACK))
    sourced = _events(sources.events, linked, kept)
    events = sourced.select(s.EVENTS_COLUMNS)
    links = linked.select(
        ls.SOURCE, ls.RECORD_ID, s.CHILD_ID, ls.HOW, ls.MATCH_PROBABILITY, ls.FAMILY_ONLY
    )
    counts = _counts(linked, children, events, review, changes, request.deployment)
    tables = {
        s.CHILDREN: kept.select(s.CHILDREN_COLUMNS),
        s.EVENTS: events,
        ls.LINKS_FILE: links,
        ls.IDENTITIES_FILE: identities(linked, children),
        ls.REVIEW_FILE: review,
        ls.CHANGES_FILE: changes,
        ls.EVENT_RECORDS_FILE: sourced.select(s.EVENT_ID, ls.SOURCE, ls.RECORD_ID),
    }
    with FolderWriter(request.out, "parquet") as writer:
        os.chmod(writer.tmp, 0o700)
        for name, frame in tables.items():
            writer.append(name.removesuffix(".parquet"), frame)
        writer.write_json(s.EXPORT_FILE, {"exported_at": sources.exported_at.isoformat()})
        writer.write_json(MODEL_FILE, model)
        writer.write_json(ls.LINKAGE_FILE, _manifest(request, sources, counts))
        writer.commit()
    for path in request.out.iterdir():
        os.chmod(path, 0o600)
    return LinkageOutput(request.out, counts)


def _events(events: pl.DataFrame, linked: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    owner = linked.select(ls.SOURCE, ls.RECORD_ID, s.CHILD_ID).join(
        kept.select(s.CHILD_ID), on=s.CHILD_ID
    )
    joined = events.join(owner, on=[ls.SOURCE, ls.RECORD_ID])
    return (
        joined.with_columns((pl.col(ls.SOURCE) + ":" + pl.col(s.EVENT_ID)).alias(s.EVENT_ID))
        .select(*s.EVENTS_COLUMNS, ls.SOURCE, ls.RECORD_ID)
        .sort(s.CHILD_ID, s.OCCURRED_AT, s.EVENT_ID)
    )


def identities(linked: pl.DataFrame, children: pl.DataFrame) -> pl.DataFrame:
    """Per child: name, ID number, birth date and sex, and the records behind each."""
    rec = linked.with_columns((pl.col(ls.SOURCE) + "/" + pl.col(ls.RECORD_ID)).alias(RECORD))
    names = _chosen(rec.filter(~pl.col(r.NICKNAME)), r.NAME, "name")
    ids = _chosen(rec.filter(pl.col(r.ID_USABLE)), r.ID, "id_number")
    every = rec.group_by(s.CHILD_ID).agg(pl.col(RECORD).sort().alias("records"))
    out = children.select(
        s.CHILD_ID, pl.col(s.BIRTH_DATE).cast(pl.String), PRECISION, s.SEX, HELD_BACK
    )
    for part in (names, ids, every):
        out = out.join(part, on=s.CHILD_ID, how="left")
    return out.sort(s.CHILD_ID)


def _chosen(rec: pl.DataFrame, column: str, alias: str) -> pl.DataFrame:
    """The most common value per child (ties: the smallest) and the records holding it."""
    counted = (
        rec.drop_nulls(column)
        .group_by(s.CHILD_ID, column)
        .agg(pl.len().alias("_n"), pl.col(RECORD).sort().alias(f"{alias}_records"))
    )
    best = counted.sort("_n", column, descending=[True, False]).group_by(s.CHILD_ID).first()
    return best.select(s.CHILD_ID, pl.col(column).alias(alias), f"{alias}_records")


def _counts(
    linked: pl.DataFrame,
    children: pl.DataFrame,
    events: pl.DataFrame,
    review: pl.DataFrame,
    changes: pl.DataFrame,
    deployment: Deployment,
) -> dict[str, Any]:
    how = dict(linked.group_by(ls.HOW).len().sort(ls.HOW).iter_rows())
    held = int(children[HELD_BACK].sum())
    grouped = _record_groups(linked, children, deployment)
    return {
        "records": linked.height,
        "children": children.height - held,
        "held_back_children": held,
        "events": events.height,
        "records_by_how": how,
        "records_by_how_by_hukou": _by_how(grouped, s.HUKOU),
        "records_by_how_by_area": _by_how(grouped, "area"),
        "records_family_only": int(linked[ls.FAMILY_ONLY].sum()),
        "records_by_source": dict(linked.group_by(ls.SOURCE).len().sort(ls.SOURCE).iter_rows()),
        "review_pairs": review.height,
        "changes": dict(changes.group_by("change").len().sort("change").iter_rows()),
    }


def _record_groups(
    linked: pl.DataFrame, children: pl.DataFrame, deployment: Deployment
) -> pl.DataFrame:
    """Each record's ``how`` with its child's hukou and area (the deployment's area of the
    child's district), children held back included; ``unknown`` where there is none."""
    area = pl.col(s.DISTRICT).replace_strict(
        dict(deployment.districts), default=None, return_dtype=pl.String
    )
    groups = children.select(s.CHILD_ID, pl.col(s.HUKOU).cast(pl.String), area.alias("area"))
    return linked.select(s.CHILD_ID, ls.HOW).join(groups, on=s.CHILD_ID, how="left")


def _by_how(grouped: pl.DataFrame, group: str) -> dict[str, dict[str, int]]:
    """Per value of ``group``: the count of records per ``how``."""
    counted = grouped.with_columns(pl.col(group).fill_null("unknown")).group_by(group, ls.HOW).len()
    out: dict[str, dict[str, int]] = {}
    for value, how, n in counted.sort(group, ls.HOW).iter_rows():
        out.setdefault(value, {})[how] = n
    return out


def _manifest(request: LinkRequest, sources: Sources, counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "linker": "riskflag link",
        "engine": str(request.engine),
        "sources": str(request.sources),
        "previous": str(request.previous) if request.previous else None,
        "decisions": str(request.decisions) if request.decisions else None,
        "exported_at": sources.exported_at.isoformat(),
        "policy": request.policy.as_json(),
        "policy_sha256": request.policy.digest,
        "counts": counts,
        "seconds": request.timings,
    }
