"""A slow, obvious reference for the feature table: plain Python, one child and date at a time.

It restates the definitions (docs/features.md) without any of the engine's machinery, so
the engine's one-pass result can be compared with it cell by cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from features import schema as s
from features.config import FeatureConfig, Policy
from features.registry import FeatureSpec, Registry
from features.status_specs import AWAY_STATUSES


@dataclass(frozen=True)
class Event:
    event_id: str
    child_id: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    severity: int | None
    amount: float | None
    detail: str | None


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def expiries(events: list[Event], policy: Policy) -> dict[str, datetime]:
    years = policy.unsubstantiated_retention_years
    out = {}
    for e in events:
        if e.event_type == "welfare.finding" and e.detail == "unsubstantiated":
            out[e.event_id] = add_years(e.occurred_at, years)
        if e.event_type == "report.concern":
            following = [
                f
                for f in events
                if f.child_id == e.child_id
                and f.event_type == "welfare.finding"
                and e.occurred_at
                <= f.occurred_at
                <= e.occurred_at + timedelta(days=policy.report_link_days)
            ]
            if following:
                first = min(following, key=lambda f: (f.recorded_at, f.occurred_at))
                if first.detail == "unsubstantiated":
                    out[e.event_id] = max(add_years(e.occurred_at, years), first.recorded_at)
    return out


FAMILIES = {
    "report": "reports",
    "welfare": "welfare",
    "community": "community",
    "social_aid": "poverty",
    "education": "education",
    "health": "health",
    "police": "police",
}


def _family(event_type: str) -> str:
    if event_type == "health.disability_certified":
        return "disability"
    if event_type == "health.mental_health":
        return "mental_health"
    return FAMILIES[event_type.partition(".")[0]]


def _matches(e: Event, event_type: str, detail: str | None) -> bool:
    return e.event_type == event_type and (detail is None or e.detail == detail)


def _in_window(e: Event, d: datetime, window: Any, expiry: dict[str, datetime]) -> bool:
    if e.recorded_at > d:
        return False
    if e.event_id in expiry and d >= expiry[e.event_id]:
        return False
    return window == "all" or e.occurred_at > d - timedelta(days=window)


def _latest_event(
    known: list[Event], codes: dict[tuple[str, str | None], int]
) -> tuple[datetime, int] | None:
    """The (occurrence, code) of the latest event of a status group, ties to the code."""
    best: tuple[datetime, int] | None = None
    for e in known:
        for (event_type, detail), code in codes.items():
            if _matches(e, event_type, detail) and (best is None or (e.occurred_at, code) > best):
                best = (e.occurred_at, code)
    return best


def _latest(known: list[Event], codes: dict[tuple[str, str | None], int]) -> int | None:
    best = _latest_event(known, codes)
    return None if best is None else best[1]


# the statuses decided by the latest event of a group: each group's codes
LATEST_GROUPS: dict[str, dict[tuple[str, str | None], int]] = {
    "status__left_behind": {
        ("community.left_behind_registered", None): 1,
        ("community.left_behind_ended", None): 0,
    },
    "status__dibao": {("social_aid.dibao_start", None): 1, ("social_aid.dibao_end", None): 0},
    "status__open_case": {("welfare.case_opened", None): 1, ("welfare.case_closed", None): 0},
    "status__school": {("education.enrolled", None): 1, ("education.dropout", None): 2},
    "status__guardian": {
        ("welfare.guardianship_change", g): i + 1 for i, g in enumerate(s.GUARDIANS)
    },
    **{
        f"status__parent_{c}": {
            ("community.parent_status", c): 1,
            ("community.parent_status", "returned"): 0,
        }
        for c in AWAY_STATUSES
    },
}


YES_NO = [
    status for status in LATEST_GROUPS if status not in ("status__school", "status__guardian")
]


def status_days_values(known: list[Event], d: datetime, cap: int) -> dict[str, int]:
    """Whole days from each group's latest known event to D, at most ``cap``; ``cap``
    when the group has none (as a "days since the last" of an event never recorded)."""
    out = {}
    for status, codes in LATEST_GROUPS.items():
        best = _latest_event(known, codes)
        days = cap if best is None else min(max((d - best[0]) // timedelta(days=1), 0), cap)
        out[f"{status}__days"] = days
    return out


def _age(birth: date, d: date) -> int:
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def status_values(known: list[Event]) -> dict[str, Any]:
    def n(event_type: str, detail: str | None = None) -> int:
        return sum(_matches(e, event_type, detail) for e in known)

    deceased = min(n("community.parent_status", "deceased"), 2)
    left = sum(n("community.parent_status", c) for c in AWAY_STATUSES)
    away = max(left - n("community.parent_status", "returned"), 0)
    latest = {status: _latest(known, codes) for status, codes in LATEST_GROUPS.items()}
    school, guardian = latest["status__school"], latest["status__guardian"]
    certified = [e for e in known if e.event_type == "health.disability_certified"]
    level = max(certified, key=lambda e: (e.occurred_at, e.severity or 0)) if certified else None
    return {
        **{status: latest[status] == 1 for status in YES_NO},
        "status__unattended": n("community.unattended_registered") > 0,
        "status__parents_deceased": deceased,
        "status__orphan": deceased >= 2,
        "status__parents_away": min(away, 2 - deceased),
        "status__disabled": bool(certified),
        "status__disability_level": 0 if level is None else (level.severity or 0),
        "status__school": {None: "none", 1: "enrolled", 2: "dropped_out"}[school],
        "status__guardian": "parent" if guardian is None else s.GUARDIANS[guardian - 1],
    }


def placed(known: list[Event]) -> bool:
    codes = {
        ("welfare.emergency_removal", None): 1,
        ("welfare.foster_placement", None): 1,
        ("welfare.institution_placement", None): 1,
        ("welfare.reunification", None): 0,
        ("welfare.adoption", None): 0,
    }
    return _latest(known, codes) == 1


def aggregate_value(
    spec: FeatureSpec,
    mine: list[Event],
    household: list[Event],
    d: datetime,
    expiry: dict[str, datetime],
    cap: int,
) -> Any:
    event_type = spec.sources[0]

    def selected(events: list[Event], window: Any) -> list[Event]:
        return [
            e
            for e in events
            if _matches(e, event_type, spec.detail) and _in_window(e, d, window, expiry)
        ]

    if spec.kind == "count":
        return len(selected(mine, spec.window))
    if spec.kind == "household":
        return len(selected(household, spec.window)) - len(selected(mine, spec.window))
    if spec.kind == "max_severity":
        levels = [e.severity for e in selected(mine, spec.window) if e.severity is not None]
        return max(levels) if levels else None
    if spec.kind == "sum_amount":
        return sum(round((e.amount or 0) * 1000) for e in selected(mine, spec.window)) / 1000
    if spec.kind == "decayed":  # each event weighs 2^(-age in days / half-life)
        ages = [(d - e.occurred_at) / timedelta(days=1) for e in selected(mine, "all")]
        return math.fsum(2 ** (-age / spec.half_life_days) for age in ages)
    if spec.kind == "trend":  # the last 90 days against the 275 before, scaled to 90 days
        recent, year = len(selected(mine, 90)), len(selected(mine, 365))
        return recent - (year - recent) * 90 / 275
    never = not selected(mine, "all")
    if spec.kind == "never":
        return never
    assert spec.kind == "days_since"
    if never:
        return cap
    last = max(
        e.occurred_at for e in mine if _matches(e, event_type, spec.detail) and e.recorded_at <= d
    )
    return min(max((d - last) // timedelta(days=1), 0), cap)


def sources_value(
    mine: list[Event], d: datetime, window: Any, expiry: dict[str, datetime], policy: Policy
) -> int:
    """Source systems (the event type before the dot) with a counted event in the window,
    among the events of families the policy allows."""
    return len(
        {
            e.event_type.partition(".")[0]
            for e in mine
            if policy.allows(_family(e.event_type)) and _in_window(e, d, window, expiry)
        }
    )


def reference_table(
    children: list[dict[str, Any]],
    events: list[Event],
    grid: list[date],
    registry: Registry,
    config: FeatureConfig,
    policy: Policy,
    exported_at: datetime,
    areas: dict[str, str],
) -> list[dict[str, Any]]:
    expiry = expiries(events, policy)
    rows = []
    for child in sorted(children, key=lambda c: c["child_id"]):
        mine = [e for e in events if e.child_id == child["child_id"]]
        key = child["household_id"]
        siblings = {
            c["child_id"] for c in children if key is not None and c["household_id"] == key
        } | {child["child_id"]}
        household = [e for e in events if e.child_id in siblings]
        for day in sorted(set(grid)):
            d = datetime(day.year, day.month, day.day)
            age = _age(child["birth_date"], day)
            known = [e for e in mine if e.recorded_at <= d]
            eligible = (
                child["birth_date"] <= day
                and config.cohort.min_age <= age <= config.cohort.max_age
                and (known or not config.cohort.require_event)
                and not (config.cohort.exclude_out_of_home and placed(known))
            )
            if not eligible:
                continue
            row: dict[str, Any] = {"child_id": child["child_id"], "as_of": day}
            statuses = status_values(known)
            status_days = status_days_values(known, d, config.days_since_cap)
            static = {
                "age_years": age,
                "sex": child["sex"],
                "area": areas[child["district"]],
                "hukou": child["hukou"],
            }
            for spec in registry.specs:
                if spec.kind == "static":
                    row[spec.name] = static[spec.name]
                elif spec.kind == "status":
                    row[spec.name] = statuses[spec.name]
                elif spec.kind == "status_days":
                    row[spec.name] = status_days[spec.name]
                elif spec.kind == "sources":
                    row[spec.name] = sources_value(mine, d, spec.window, expiry, policy)
                else:
                    row[spec.name] = aggregate_value(
                        spec, mine, household, d, expiry, config.days_since_cap
                    )
            horizon = timedelta(days=config.label.horizon_days)
            outcome = any(
                _matches(e, o.event_type, o.detail)
                and (o.min_severity is None or (e.severity or -1) >= o.min_severity)
                and d < e.occurred_at <= d + horizon
                for e in mine
                for o in config.label.outcomes
            )
            row[config.label.name] = int(outcome) if d + horizon <= exported_at else None
            rows.append(row)
    return rows
