"""The records behind a feature value: for (child, as-of date, feature), the event_ids.

A caseworker who sees "3 concern reports in the last 365 days" can open those three
reports. The selection applies the same definitions as the engine (windows on
``occurred_at``, knowledge by ``recorded_at``, the retention policy through the same
expiry code), and a property test checks that counts equal the number of records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from features import schema as s
from features.config import Policy
from features.contract import CaseHistories
from features.engine import UNIT, Grid
from features.registry import AWAY_STATUSES, FeatureSpec
from features.retention import EXPIRES_AT, with_expiry
from features.statuses import LATEST_OF, match

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

# status features decided by the latest event of a group, and by counts of events
STATUS_GROUPS = {
    "status__left_behind": "__left_behind",
    "status__dibao": "__dibao",
    "status__open_case": "__open_case",
    "status__school": "__school",
    "status__guardian": "__guardian",
    **{f"status__parent_{code}": f"__parent_{code}" for code in AWAY_STATUSES},
}
STATUS_COUNTED = {
    "status__unattended": ("community.unattended_registered", None),
    "status__parents_deceased": ("community.parent_status", ("deceased",)),
    "status__orphan": ("community.parent_status", ("deceased",)),
    "status__parents_away": ("community.parent_status", (*AWAY_STATUSES, "returned")),
    "status__disabled": ("health.disability_certified", None),
}


def _known(
    histories: CaseHistories, child_ids: list[str], moment: datetime, policy: Policy
) -> pl.DataFrame:
    """Events of these children recorded by ``moment``, with when each stops counting."""
    events = histories.events.filter(pl.col(s.CHILD_ID).is_in(child_ids)).with_columns(
        pl.col(s.CHILD_ID).rank("dense").cast(pl.Int64).alias(UNIT)
    )
    grid = Grid.of([moment.date()])
    expiring = with_expiry(events, policy, grid)
    return expiring.filter(pl.col(s.RECORDED_AT) <= moment).collect()


def _matching(events: pl.DataFrame, spec: FeatureSpec) -> pl.DataFrame:
    return events.filter(match(spec.sources[0], spec.detail))


def _windowed(events: pl.DataFrame, spec: FeatureSpec, moment: datetime) -> pl.DataFrame:
    counting = pl.col(EXPIRES_AT).is_null() | (pl.col(EXPIRES_AT) > moment)
    if spec.window not in (None, "all"):
        counting &= pl.col(s.OCCURRED_AT) > moment - timedelta(days=int(spec.window))
    return events.filter(counting)


def _latest(events: pl.DataFrame, *order: str) -> pl.DataFrame:
    """Each child's last event in ``order``."""
    ordered = events.sort(*order, maintain_order=True)
    return ordered.group_by(s.CHILD_ID, maintain_order=True).tail(1)


def _status_evidence(known: pl.DataFrame, spec: FeatureSpec) -> pl.DataFrame:
    if spec.name in STATUS_GROUPS:
        codes = LATEST_OF[STATUS_GROUPS[spec.name]]
        member = pl.any_horizontal([match(event_type, detail) for event_type, detail in codes])
        return _latest(known.filter(member), s.OCCURRED_AT)
    if spec.name == "status__disability_level":
        certified = known.filter(pl.col(s.EVENT_TYPE) == "health.disability_certified")
        return _latest(certified, s.OCCURRED_AT, s.SEVERITY)
    event_type, details = STATUS_COUNTED[spec.name]
    selected = known.filter(pl.col(s.EVENT_TYPE) == event_type)
    return selected if details is None else selected.filter(pl.col(s.DETAIL).is_in(details))


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
    ``feature`` and the record's columns, each pair's records oldest first. The children's
    known events are read in one query and each feature's records selected for all of them
    together; every child is judged on its own records (its own unit, so retention
    applies per child as for one child alone). For association features the records are
    the siblings' (never the child's own); static features have none."""
    moment = datetime(as_of.year, as_of.month, as_of.day)
    schema = histories.events.collect_schema()
    columns = {FOR: pl.String(), FEATURE: pl.String(), **{c: schema[c] for c in EVIDENCE_COLUMNS}}
    pairs = pl.DataFrame(
        [(child, spec.name) for child, specs in wanted.items() for spec in specs],
        schema={FOR: pl.String(), FEATURE: pl.String()},
        orient="row",
    )
    specs = {spec.name: spec for specs in wanted.values() for spec in specs}
    own = {n: spec for n, spec in specs.items() if spec.kind not in ("static", "household")}
    shared = {n: spec for n, spec in specs.items() if spec.kind == "household"}
    found = [pl.DataFrame(schema=columns)]
    if own:
        known = _known(histories, _wanting(wanted, own), moment, policy)
        chosen = _tagged([_selected(known, spec, moment) for spec in own.values()], list(own))
        found.append(chosen.with_columns(pl.col(s.CHILD_ID).alias(FOR)))
    if shared:
        siblings = _siblings(histories, _wanting(wanted, shared))
        known = _known(histories, siblings[s.CHILD_ID].unique().to_list(), moment, policy)
        records = [_windowed(_matching(known, spec), spec, moment) for spec in shared.values()]
        found.append(siblings.join(_tagged(records, list(shared)), on=s.CHILD_ID))
    table = pl.concat([part.select(list(columns)) for part in found])
    return table.join(pairs, on=[FOR, FEATURE], how="semi").sort(
        FOR, FEATURE, s.OCCURRED_AT, s.EVENT_ID
    )


def _wanting(wanted: Mapping[str, Sequence[FeatureSpec]], specs: Mapping[str, object]) -> list[str]:
    return [child for child, asked in wanted.items() if any(a.name in specs for a in asked)]


def _tagged(frames: list[pl.DataFrame], features: list[str]) -> pl.DataFrame:
    """The frames one under another, each row tagged with its own frame's feature (one
    concatenation, not one operation per feature)."""
    rows = np.repeat(np.arange(len(frames)), [frame.height for frame in frames])
    tags = pl.Series(FEATURE, features, pl.String).gather(rows)
    return pl.concat(frames).with_columns(tags)


def _siblings(histories: CaseHistories, child_ids: list[str]) -> pl.DataFrame:
    """(for_child, child_id): each child's siblings, the children sharing its non-null
    household_id."""
    children = histories.children.select(s.CHILD_ID, s.HOUSEHOLD_ID).filter(
        pl.col(s.HOUSEHOLD_ID).is_not_null()
    )
    asking = children.filter(pl.col(s.CHILD_ID).is_in(child_ids)).rename({s.CHILD_ID: FOR})
    return (
        asking.join(children, on=s.HOUSEHOLD_ID)
        .filter(pl.col(s.CHILD_ID) != pl.col(FOR))
        .select(FOR, s.CHILD_ID)
        .collect(engine="in-memory")
    )


def event_ids_behind(
    records: Mapping[str, pl.DataFrame], features: Sequence[str]
) -> tuple[str, ...]:
    """The event_ids behind a factor of several features: each feature's records in
    order, each record once."""
    ids: dict[str, None] = {}
    for feature in features:
        if feature in records:
            ids.update(dict.fromkeys(records[feature][s.EVENT_ID].to_list()))
    return tuple(ids)


def _selected(known: pl.DataFrame, spec: FeatureSpec, moment: datetime) -> pl.DataFrame:
    """The records behind ``spec`` for every child of ``known``, each on its own records."""
    if spec.kind == "status":
        chosen = _status_evidence(known, spec)
    elif spec.kind == "days_since":
        matching = _matching(known, spec)
        counted = _windowed(matching, spec, moment).select(s.CHILD_ID).unique()
        chosen = _latest(matching, s.OCCURRED_AT).join(counted, on=s.CHILD_ID, how="semi")
    else:
        chosen = _windowed(_matching(known, spec), spec, moment)
        if spec.kind == "max_severity":
            chosen = chosen.filter(pl.col(s.SEVERITY) == pl.col(s.SEVERITY).max().over(s.CHILD_ID))
    return _ordered(chosen)


def _ordered(chosen: pl.DataFrame) -> pl.DataFrame:
    return chosen.sort(s.OCCURRED_AT, s.EVENT_ID).select(EVIDENCE_COLUMNS)
