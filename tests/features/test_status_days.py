"""Days since each status was last set (``[windows] status_days``): a worked example by
hand, on the batch and a household request alike, with its records, and the policy.

The random stores of tests/features/test_build_reference.py compare the kind with the
plain-Python reference on the extended configuration; these cases pin the meaning.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from features import schema as s
from features.build import build_features
from features.config import (
    EXTENDED_FEATURES,
    FeatureConfig,
    Policy,
    load_feature_config,
    load_policy,
)
from features.evidence import evidence
from features.household import household_features
from features.plan import compile_plan
from features.registry import build_registry
from tests.features.reference import Event
from tests.features.test_build_reference import as_histories
from tests.features.test_household import _households

D = datetime(2024, 7, 1)
LATER = D + timedelta(days=30)
CHILD = {"child_id": "K0", "birth_date": date(2015, 1, 1), "sex": "F", "district": "Miyun",
         "hukou": "local", "ethnicity": "han", "household_id": None}  # fmt: skip


def _event(event_id: str, kind: str, days_before: int, detail: str | None = None) -> Event:
    """An event of K0 recorded when it occurred, ``days_before`` D."""
    at = D - timedelta(days=days_before)
    return Event(event_id, "K0", kind, at, at, None, None, detail)


EVENTS = [
    _event("L0", "community.left_behind_registered", 400),
    _event("L1", "community.left_behind_ended", 200),
    _event("L2", "community.left_behind_registered", 50),  # registered again
    _event("B0", "social_aid.dibao_start", 300),
    _event("B1", "social_aid.dibao_end", 100),
    # a dibao start before D recorded after it: not known on D, known 30 days later
    dataclasses.replace(
        _event("B2", "social_aid.dibao_start", 10), recorded_at=D + timedelta(days=1)
    ),
    _event("S0", "education.enrolled", 2000),  # older than the cap
    _event("P0", "community.parent_status", 20, "migrated"),
    _event("P1", "community.parent_status", 5, "returned"),
]


def _rows(config: FeatureConfig) -> dict[date, dict[str, Any]]:
    grid = [D.date(), LATER.date()]
    table = build_features(as_histories([CHILD], EVENTS), config, load_policy(), grid)
    return {row["as_of"]: row for row in table.frame.collect().to_dicts()}


def test_days_since_each_status_was_last_set_on_a_worked_example() -> None:
    config = load_feature_config(EXTENDED_FEATURES)
    cap = config.days_since_cap
    rows = _rows(config)
    on_d, later = rows[D.date()], rows[LATER.date()]
    assert on_d["status__left_behind"]
    assert on_d["status__left_behind__days"] == 50
    # the late-recorded start does not count on D: the end 100 days before decides
    assert not on_d["status__dibao"]
    assert on_d["status__dibao__days"] == 100
    assert later["status__dibao"]
    assert later["status__dibao__days"] == 40
    assert on_d["status__school"] == "enrolled"
    assert on_d["status__school__days"] == cap
    # no event of the group: the cap, as "days since the last" of an event never recorded
    assert on_d["status__open_case__days"] == on_d["status__guardian__days"] == cap
    # a return belongs to every parent group: each away status was last set by it
    assert not on_d["status__parent_migrated"]
    assert on_d["status__parent_migrated__days"] == on_d["status__parent_contact_lost__days"] == 5
    assert later["status__left_behind__days"] == 80
    assert "status__dibao__days" not in _rows(load_feature_config())[D.date()]


def test_the_records_behind_the_days_are_the_latest_event_of_the_group() -> None:
    config, policy = load_feature_config(EXTENDED_FEATURES), load_policy()
    store = as_histories([CHILD], EVENTS)
    registry = build_registry(config, policy)
    cases = {
        (D, "status__dibao__days"): ["B1"],
        (LATER, "status__dibao__days"): ["B2"],
        (D, "status__left_behind__days"): ["L2"],
        (D, "status__parent_migrated__days"): ["P1"],
        (D, "status__open_case__days"): [],
    }
    for (moment, name), ids in cases.items():
        found = evidence(store, policy, registry[name], "K0", moment.date())
        assert found[s.EVENT_ID].to_list() == ids, (moment, name)
    # a request (the child's household alone, events in another order) agrees with both
    plan = compile_plan(config, policy)
    children = store.children.collect()
    household = _households(children, store.events.collect())["K0"]
    found = household_features(plan, household, D.date())
    row = found.row_of("K0")
    assert row is not None
    assert found.value("status__dibao__days", row) == 100
    assert found.records("K0", registry["status__dibao__days"]) == ("B1",)


def test_each_days_feature_is_of_its_status_family_and_excluded_with_it() -> None:
    config = load_feature_config(EXTENDED_FEATURES)
    everything = build_registry(config, load_policy())
    days = [spec for spec in everything.specs if spec.kind == "status_days"]
    assert len(days) == 10
    for spec in days:
        status = everything[spec.name.removesuffix("__days")]
        assert (spec.family, spec.sources) == (status.family, status.sources)
        assert spec.categories is None
        assert spec.unit_en == "days"
    assert everything["status__dibao__days"].family == "poverty"
    no_poverty = build_registry(config, Policy(exclude=("poverty",)))
    assert "status__dibao__days" not in no_poverty.names
    assert "status__left_behind__days" in no_poverty.names
    table = build_features(
        as_histories([CHILD], EVENTS), config, Policy(exclude=("poverty",)), [D.date()]
    )
    assert "status__dibao__days" not in table.frame.collect_schema().names()
    assert table.frame.collect()["status__left_behind__days"].dtype == pl.Int32
