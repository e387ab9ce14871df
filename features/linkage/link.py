"""``link_sources``: a sources folder in, a contract v1 folder and the linkage tables out.

The arrows of the data flow, one function each:

  load_sources -> comparison_records (standardise) -> predict (Splink)
  -> edges (ID numbers, the model above the threshold, decisions) -> cluster_records
  -> assign_child_ids (stable against --previous) -> resolve_children + households
  -> write_linkage (children, events, export.json, links, identities, review, changes)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from features import schema as s
from features.deployment import Deployment
from features.linkage import records as r
from features.linkage import schema as ls
from features.linkage.cluster import cluster_records, record_profiles
from features.linkage.edges import (
    decided_edges,
    id_number_edges,
    match_edges,
    read_decisions,
)
from features.linkage.engines import LinkEngine, splink_tables
from features.linkage.ids import assign_child_ids
from features.linkage.model import predict
from features.linkage.output import LinkageOutput, write_linkage
from features.linkage.policy import LinkagePolicy
from features.linkage.resolve import HELD_BACK, households, resolve_children
from features.linkage.review import review_pairs
from features.linkage.rules import Profile
from features.linkage.sources import load_sources


@dataclass(frozen=True)
class LinkRequest:
    """What to link and how (the command's options)."""

    sources: Path
    out: Path
    policy: LinkagePolicy
    deployment: Deployment
    previous: Path | None = None
    decisions: Path | None = None
    engine: LinkEngine = LinkEngine.duckdb
    model: dict[str, Any] | None = None  # a trained Splink model to reuse
    spark: Any = None
    memory_gb: float = 4.0  # DuckDB's memory limit (it spills past it)
    timings: dict[str, float] = field(default_factory=dict)


def link_sources(request: LinkRequest) -> LinkageOutput:
    """Link a sources folder and write the result (see the module docstring)."""
    clock = _Clock(request.timings)
    sources = load_sources(request.sources, request.deployment)
    recs = r.comparison_records(sources.persons, sources.exported_at, request.policy.max_age_years)
    # every input is read before the long work, so that a bad one stops the run at once
    decisions = read_decisions(request.decisions, recs) if request.decisions else None
    previous = _previous_links(request.previous)
    clock.lap("standardise")
    with splink_tables(request.engine, request.spark, request.memory_gb) as register:
        pairs, model = predict(recs, request.policy, register, request.model)
    clock.lap("splink")
    profiles = record_profiles(recs)
    clustered = _cluster(recs, profiles, pairs, request.policy, decisions)
    clock.lap("cluster")
    ids, changes = assign_child_ids(clustered.select(ls.SOURCE, ls.RECORD_ID, ls.CLUSTER), previous)
    linked = clustered.join(ids, on=ls.CLUSTER).sort(r.UID)
    children = _children(linked, sources.events, request.policy)
    clock.lap("resolve")
    review = review_pairs(pairs, linked, profiles, request.policy, decisions, model)
    output = write_linkage(request, linked, children, sources, review, changes, model)
    clock.lap("write")
    return output


def _cluster(
    recs: pl.DataFrame,
    profiles: dict[int, Profile],
    pairs: pl.DataFrame,
    policy: LinkagePolicy,
    decisions: pl.DataFrame | None,
) -> pl.DataFrame:
    edges = [id_number_edges(recs), match_edges(pairs, policy)]
    apart = None
    if decisions is not None:
        same, apart = decided_edges(decisions)
        edges.append(same)
    clustered = cluster_records(recs, profiles, pl.concat(edges), policy, apart)
    return recs.join(clustered, on=r.UID)


def _previous_links(previous: Path | None) -> pl.DataFrame | None:
    if previous is None:
        return None
    return pl.read_parquet(previous / ls.LINKS_FILE, columns=[ls.SOURCE, ls.RECORD_ID, s.CHILD_ID])


def _children(linked: pl.DataFrame, events: pl.DataFrame, policy: LinkagePolicy) -> pl.DataFrame:
    latest = events.group_by(ls.SOURCE, ls.RECORD_ID).agg(pl.max(s.RECORDED_AT).alias("latest"))
    children = resolve_children(linked, latest)
    kept = linked.join(children.filter(~pl.col(HELD_BACK)).select(s.CHILD_ID), on=s.CHILD_ID)
    homes = households(kept, policy.max_household_children)
    return children.drop(s.HOUSEHOLD_ID).join(homes, on=s.CHILD_ID, how="left")


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings, self.started = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.started, 2)
        self.started = now
