"""The records behind a feature value: for (child, as-of date, feature), the event_ids.

A caseworker who sees "3 concern reports in the last 365 days" can open those three
reports. The records are chosen from the very window bounds the kernels sum over
(features.compute.Bounds: known by the date, still in the window, not expired), so a
count always equals its number of records; a status or a recency's record is the event
whose packed (occurrence, code) is the running maximum the value was read from (the
days since a status was last set: the status's). A recency-weighted count's records are
every event it weighs, a trend's those of the last 365 days it compares, a
source-systems count's those of the window from counted systems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from features import schema as s
from features.compute import Bounds
from features.config import Policy, Window
from features.contract import CaseHistories
from features.events import Events, events_of
from features.kernel import Bool, Grid, Int, expand, pack
from features.plan import NOT_IN, PACK_SEVERITY, counted_codes, latest_row, matching
from features.registry import FeatureSpec
from features.separations import apart
from features.status_specs import AWAY_STATUSES, group_of
from features.statuses import LATEST_OF

FOR = "for_child"  # whose feature value the record is behind (a sibling's, for association)
FEATURE = "feature"
EVIDENCE_COLUMNS = (
    s.EVENT_ID,
    s.CHILD_ID,
    s.EVENT_TYPE,
    s.OCCURRED_AT,
    s.RECORDED_AT,
    s.SEVERITY,
    s.AMOUNT,
    s.DETAIL,
)
UNIT = "__unit"

# status features decided by counts of events (the others: features.registry.STATUS_GROUPS)
PARENT = "community.parent_status"
STATUS_COUNTED = {
    "status__unattended": matching("community.unattended_registered"),
    "status__parents_deceased": matching(PARENT, "deceased"),
    "status__orphan": matching(PARENT, "deceased"),
    "status__parents_away": np.logical_or.reduce(
        [matching(PARENT, code) for code in (*AWAY_STATUSES, "returned")]
    ),
    "status__disabled": matching("health.disability_certified"),
}


@dataclass(frozen=True)
class Known:
    """Events of some units with their bounds on one date (grid index 0), and each
    unit's household (for siblings' records)."""

    events: Events
    bounds: Bounds
    households: Int
    # (unit, member unit) pairs whose member's records do not count for the unit
    # (features.separations) on the date
    apart: frozenset[tuple[int, int]] = frozenset()

    def behind(self, spec: FeatureSpec, wanting: Int) -> tuple[Int, Int]:
        """(unit, event index) pairs: the records behind ``spec``'s value for each unit
        of ``wanting`` (a 0/1 mask over the units). Siblings' records for association."""
        events = self.events
        if spec.kind == "static":
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if spec.kind == "household":
            return self._siblings(spec, wanting)
        if spec.kind == "status" and spec.name in STATUS_COUNTED:
            chosen = np.flatnonzero(STATUS_COUNTED[spec.name][events.code] & self.known)
        elif spec.kind in {"status", "status_days", "days_since"}:
            chosen = self._latest(spec)
        else:
            chosen = np.flatnonzero(self.counted(spec))
            if spec.kind == "max_severity":
                chosen = _at_max(chosen, events.unit, events.severity[chosen], wanting.size)
        chosen = chosen[wanting[events.unit[chosen]]]
        return events.unit[chosen], chosen

    @property
    def known(self) -> Bool:
        known: Bool = self.bounds.start <= 0
        return known

    def counted(self, spec: FeatureSpec) -> Bool:
        """The events a count, amount, severity, "never", recency-weighted count, trend or
        source-systems count of ``spec`` sums."""
        window = "all" if spec.kind in ("never", "days_since") else spec.window or "all"
        codes = counted_codes(spec)
        return codes[self.events.code] & self.known & (self.bounds.ends[window] > 0)

    def _latest(self, spec: FeatureSpec) -> Int:
        events = self.events
        if spec.kind == "days_since":
            row = np.where(matching(spec.sources[0], spec.detail), 0, NOT_IN)
        elif spec.name == "status__disability_level":
            row = np.where(matching("health.disability_certified"), PACK_SEVERITY, NOT_IN)
        else:
            row = latest_row(LATEST_OF[group_of(spec)])
        code = row[events.code]
        chosen = np.flatnonzero((code != NOT_IN) & self.known)
        code = np.where(code == PACK_SEVERITY, np.maximum(events.severity, 0), code)[chosen]
        packed = pack(events.occurred[chosen], code)
        units = int(events.unit.max(initial=-1)) + 1
        chosen = _at_max(chosen, events.unit, packed, units)
        if spec.kind == "days_since":  # a recency is "never" once every record expired
            counted = np.zeros(units, bool)
            counted[events.unit[self.counted(spec)]] = True
            chosen = chosen[counted[events.unit[chosen]]]
        return chosen

    def _siblings(self, spec: FeatureSpec, wanting: Int) -> tuple[Int, Int]:
        """Each counted event paired with every asking unit of its household but its own."""
        chosen = np.flatnonzero(self.counted(spec))
        asking = np.flatnonzero(wanting)
        asking = asking[np.argsort(self.households[asking], kind="stable")]
        sizes = int(self.households.max(initial=-1)) + 2
        pointers = np.searchsorted(self.households[asking], np.arange(sizes))
        event, entry = expand(pointers, self.households[self.events.unit[chosen]])
        units, rows = asking[entry], chosen[event]
        other = units != self.events.unit[rows]
        if self.apart:
            members = self.events.unit[rows]
            pairs = zip(units.tolist(), members.tolist(), strict=True)
            other &= np.array([pair not in self.apart for pair in pairs], bool)
        return units[other], rows[other]


def _at_max(chosen: Int, units: Int, value: Int, n_units: int) -> Int:
    """The chosen events whose value is their unit's largest among the chosen."""
    value = value.astype(np.int64)
    best = np.full(n_units, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(best, units[chosen], value)
    keep: Int = chosen[(value == best[units[chosen]]) & (value >= 0)]
    return keep


def evidence(
    histories: CaseHistories, policy: Policy, spec: FeatureSpec, child_id: str, as_of: date
) -> pl.DataFrame:
    """The events behind ``spec``'s value for ``child_id`` on ``as_of`` (oldest first).

    Static features (age, sex, area, hukou) have none: they come from the child's row.
    For association features the records are the siblings' (never the child's own).
    """
    return evidence_of(histories, policy, [spec], child_id, as_of)[spec.name]


def evidence_of(
    histories: CaseHistories,
    policy: Policy,
    specs: Sequence[FeatureSpec],
    child_id: str,
    as_of: date,
) -> dict[str, pl.DataFrame]:
    """``evidence`` for several features of one child at once."""
    return evidence_for(histories, policy, {child_id: specs}, as_of)[child_id]


def evidence_for(
    histories: CaseHistories,
    policy: Policy,
    wanted: Mapping[str, Sequence[FeatureSpec]],
    as_of: date,
) -> dict[str, dict[str, pl.DataFrame]]:
    """``evidence`` for several children and features at once, child by child and feature
    by feature (``evidence_table`` in that shape; every wanted pair is present)."""
    table = evidence_table(histories, policy, wanted, as_of)
    empty = table.clear().select(EVIDENCE_COLUMNS)
    parts = {
        (str(key[0]), str(key[1])): part.select(EVIDENCE_COLUMNS)
        for key, part in table.partition_by(FOR, FEATURE, as_dict=True).items()
    }
    return {
        child_id: {spec.name: parts.get((child_id, spec.name), empty) for spec in specs}
        for child_id, specs in wanted.items()
    }


def evidence_table(
    histories: CaseHistories,
    policy: Policy,
    wanted: Mapping[str, Sequence[FeatureSpec]],
    as_of: date,
) -> pl.DataFrame:
    """The records behind each wanted (child, feature) as one table: ``for_child``,
    ``feature`` and the record's columns, each pair's records oldest first. Each child
    is judged on its own records (its siblings' for association features)."""
    children, frame = _histories_of(histories, list(wanted))
    events = events_of(frame, frame[UNIT].to_numpy().astype(np.int64), policy)
    grid = Grid.of([as_of])
    bounds = Bounds.of(events, grid, _windows(wanted))
    households = children["__household"].to_numpy().astype(np.int64)
    ids = children[s.CHILD_ID]
    unit_of = {child: unit for unit, child in enumerate(ids.to_list())}
    pairs = apart(histories.separations, unit_of, households, grid)
    known = Known(events, bounds, households, pairs.on(0))
    parts = [
        frame.clear()
        .select(EVIDENCE_COLUMNS)
        .with_columns(pl.lit(None, pl.String).alias(FOR), pl.lit(None, pl.String).alias(FEATURE))
    ]
    for spec in {spec.name: spec for specs in wanted.values() for spec in specs}.values():
        asking = np.zeros(children.height, bool)
        asking[ids.is_in([c for c, specs in wanted.items() if spec in specs]).to_numpy()] = True
        units, rows = known.behind(spec, asking)
        parts.append(
            frame.select(EVIDENCE_COLUMNS)[rows].with_columns(
                ids.gather(pl.Series(units)).alias(FOR), pl.lit(spec.name).alias(FEATURE)
            )
        )
    table = pl.concat(parts).select(FOR, FEATURE, *EVIDENCE_COLUMNS)
    return table.sort(FOR, FEATURE, s.OCCURRED_AT, s.EVENT_ID)


def _windows(wanted: Mapping[str, Sequence[FeatureSpec]]) -> set[Window]:
    windows: set[Window] = {"all"}
    return windows | {spec.window or "all" for specs in wanted.values() for spec in specs}


def _histories_of(
    histories: CaseHistories, child_ids: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The children asked for and their households' members (sorted, numbered), and
    their events (sorted by child)."""
    children = histories.children.select(s.CHILD_ID, s.HOUSEHOLD_ID)
    asked = children.filter(pl.col(s.CHILD_ID).is_in(child_ids))
    households = asked.select(s.HOUSEHOLD_ID).drop_nulls()
    members = children.join(households, on=s.HOUSEHOLD_ID, how="semi")
    chosen = (
        pl.concat([asked, members])
        .unique(s.CHILD_ID)
        .sort(s.CHILD_ID)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias(UNIT),
            pl.coalesce(s.HOUSEHOLD_ID, pl.lit("child:") + pl.col(s.CHILD_ID))
            .rank("dense")
            .cast(pl.Int64)
            .alias("__household"),
        )
        .collect()
    )
    frame = (
        histories.events.join(chosen.lazy().select(s.CHILD_ID, UNIT), on=s.CHILD_ID)
        .sort(UNIT, maintain_order=True)
        .collect()
    )
    return chosen, frame
