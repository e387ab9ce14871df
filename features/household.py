"""The features of one household on one date, for a request: the batch's kernels, sized
for a few children.

``household_features`` runs the very functions a batch chunk runs (features.compute,
features.columns) on a household's children and events, already in memory, and keeps
what the explanation needs next: each feature's values as arrays (no table is built),
and the events with their window bounds, so that the records behind each value are read
from the bounds the value was summed over (features.evidence.Known).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from features import schema as s
from features.build import people_of
from features.columns import Rows, cohort, feature_values
from features.compute import Bounds, compute, household_totals
from features.deployment import Deployment
from features.events import events_of
from features.evidence import Known
from features.kernel import Grid, Int
from features.plan import Plan
from features.registry import FeatureSpec, Registry
from features.separations import apart, own_totals, separate
from features.statuses import Categorical


@dataclass(frozen=True)
class HouseholdFeatures:
    """One household's feature values on one date and the records behind them."""

    as_of: date
    registry: Registry
    child_ids: tuple[str, ...]  # by unit (sorted)
    districts: tuple[str, ...]
    rows: Rows  # the units in the model's population on the date
    values: Mapping[str, Any]  # feature -> values at ``rows`` (features.columns)
    known: Known
    event_ids: tuple[str, ...]  # by event index of ``known.events``

    def row_of(self, child_id: str) -> int | None:
        """The child's row in ``values``, or None outside the population."""
        if child_id not in self.child_ids:
            return None
        found = np.flatnonzero(self.rows.unit == self.child_ids.index(child_id))
        return int(found[0]) if found.size else None

    def district_of(self, child_id: str) -> str:
        return self.districts[self.child_ids.index(child_id)]

    def value(self, name: str, row: int) -> Any:
        """A feature's value at a row as the batch's table holds it, in Python terms (a
        category as text; a highest severity with nothing recorded as None)."""
        values = self.values[name]
        if isinstance(values, Categorical):
            return values.categories[values.codes[row]]
        value = values[row].item()
        if self.registry[name].kind == "max_severity":
            return None if math.isnan(value) else int(value)
        return value

    def records(self, child_id: str, spec: FeatureSpec) -> tuple[str, ...]:
        """The event ids behind ``spec``'s value for the child, oldest first."""
        wanting = np.zeros(len(self.child_ids), bool)
        wanting[self.child_ids.index(child_id)] = True
        _, chosen = self.known.behind(spec, wanting)
        events = self.known.events
        order = sorted(chosen.tolist(), key=lambda i: (events.occurred[i], self.event_ids[i]))
        return tuple(self.event_ids[i] for i in order)


@dataclass(frozen=True)
class Household:
    """A household's case histories in memory: the contract's typed columns."""

    children: pl.DataFrame
    events: pl.DataFrame
    deployment: Deployment
    # members whose records stop counting for a child (features.separations.SCHEMA)
    separations: pl.DataFrame | None = None


def household_features(plan: Plan, household: Household, as_of: date) -> HouseholdFeatures:
    """The features of every child of ``household`` on ``as_of``. Sized for a few
    children: no polars query, a handful of column reads."""
    grid = Grid.of([as_of])
    ids = household.children[s.CHILD_ID].to_list()
    order = sorted(range(len(ids)), key=ids.__getitem__)
    children = household.children[order] if order != list(range(len(ids))) else household.children
    ids = [ids[i] for i in order]
    unit_of = {child: unit for unit, child in enumerate(ids)}
    frame = household.events
    units = np.array([unit_of.get(c, -1) for c in frame[s.CHILD_ID].to_list()], np.int64)
    if (units < 0).any():
        raise ValueError("an event of a child not in the household")
    events = events_of(frame, units, plan.policy)
    bounds = Bounds.of(events, grid, plan.windows)
    internal = compute(plan, events, len(ids), grid, bounds)
    people = people_of(children, household.deployment)
    rows = cohort(internal, people, grid, plan.config)
    households = _households(ids, children[s.HOUSEHOLD_ID].to_list())
    pairs = apart(household.separations, unit_of, households, grid)
    totals = None
    if plan.household is not None:
        mine = events.with_units(households[events.unit])
        sums = household_totals(plan, mine, int(households.max()) + 1, grid)
        members = np.unique(pairs.member)
        own = own_totals(plan, events, members, grid)
        totals = separate(sums[:, :, households], pairs, members, own)
    return HouseholdFeatures(
        as_of=as_of,
        registry=plan.registry,
        child_ids=tuple(ids),
        districts=tuple(children[s.DISTRICT].to_list()),
        rows=rows,
        values=feature_values(plan, internal, totals, people, rows, grid),
        known=Known(events, bounds, households, pairs.on(0)),
        event_ids=tuple(frame[s.EVENT_ID].to_list()),
    )


def _households(ids: list[str], keys: list[str | None]) -> Int:
    """Each child's household as a code (a child without one is its own)."""
    named = [
        key if key is not None else f"child:{child}" for child, key in zip(ids, keys, strict=True)
    ]
    code = {key: i for i, key in enumerate(dict.fromkeys(named))}
    return np.array([code[key] for key in named], dtype=np.int64)
