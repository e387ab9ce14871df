"""The records behind a feature value: for (child, as-of date, feature), the event_ids.

A caseworker who sees "3 concern reports in the last 365 days" can open those three
reports. The selection applies the same definitions as the engine (windows on
``occurred_at``, knowledge by ``recorded_at``, the retention policy through the same
expiry code), and a property test checks that counts equal the number of records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import polars as pl

from features import schema as s
from features.config import Policy
from features.contract import CaseHistories
from features.engine import UNIT, Grid
from features.registry import AWAY_STATUSES, FeatureSpec
from features.retention import EXPIRES_AT, with_expiry
from features.statuses import LATEST_OF, match

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


def _household_members(histories: CaseHistories, child_id: str) -> list[str]:
    """The child and its siblings (the children sharing its non-null household_id)."""
    children = histories.children
    household = (children.filter(pl.col(s.CHILD_ID) == child_id).select(s.HOUSEHOLD_ID).collect())[
        s.HOUSEHOLD_ID
    ]
    if household.is_empty() or household[0] is None:
        return [child_id]
    members = children.filter(pl.col(s.HOUSEHOLD_ID) == household[0]).select(s.CHILD_ID)
    return list(members.collect()[s.CHILD_ID])


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
    """``evidence`` for several children and features at once. The children's known
    events are read in one query and each feature's records selected for all of them
    together; every child is judged on its own records (its own unit, so retention
    applies per child as for one child alone). A household is read only for its
    association features."""
    moment = datetime(as_of.year, as_of.month, as_of.day)
    schema = histories.events.collect_schema()
    empty = pl.DataFrame(schema={c: schema[c] for c in EVIDENCE_COLUMNS})
    own = _known(histories, list(wanted), moment, policy) if wanted else empty
    needed = {
        spec.name: spec
        for specs in wanted.values()
        for spec in specs
        if spec.kind not in ("static", "household")
    }
    selected = {
        name: {
            str(key[0]): part
            for key, part in _selected(own, spec, moment)
            .partition_by(s.CHILD_ID, as_dict=True)
            .items()
        }
        for name, spec in needed.items()
    }
    found: dict[str, dict[str, pl.DataFrame]] = {}
    for child_id, specs in wanted.items():
        household: pl.DataFrame | None = None
        found[child_id] = {}
        for spec in specs:
            if spec.kind == "static":
                found[child_id][spec.name] = empty
            elif spec.kind == "household":
                if household is None:
                    members = _household_members(histories, child_id)
                    household = _known(histories, members, moment, policy)
                siblings = _windowed(_matching(household, spec), spec, moment)
                found[child_id][spec.name] = _ordered(
                    siblings.filter(pl.col(s.CHILD_ID) != child_id)
                )
            else:
                found[child_id][spec.name] = selected[spec.name].get(child_id, empty)
    return found


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
