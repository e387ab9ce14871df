"""The one-pass engine equals the brute-force reference, and never looks past the as-of date."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import schema as s
from features.build import build_features
from features.config import (
    EXTENDED_FEATURES,
    FeatureConfig,
    Policy,
    load_feature_config,
    load_policy,
)
from features.contract import CaseHistories, ValidationReport
from features.deployment import BEIJING_DISTRICTS, Deployment
from tests.features.reference import Event, reference_table

EXPORTED_AT = datetime(2025, 6, 1)
ORIGIN = datetime(2018, 6, 1)
SPAN_DAYS = (EXPORTED_AT - ORIGIN).days
TYPES = [
    "report.concern",
    "report.concern",
    "welfare.finding",
    "welfare.finding",
    "welfare.investigation_opened",
    "welfare.case_opened",
    "welfare.case_closed",
    "welfare.emergency_removal",
    "welfare.foster_placement",
    "welfare.reunification",
    "welfare.guardianship_change",
    "community.parent_status",
    "community.parent_status",
    "community.left_behind_registered",
    "community.left_behind_ended",
    "community.unattended_registered",
    "community.home_visit",
    "social_aid.dibao_start",
    "social_aid.dibao_end",
    "social_aid.temporary_assistance",
    "education.enrolled",
    "education.absence",
    "education.dropout",
    "health.injury",
    "health.disability_certified",
    "police.domestic_violence_call",
    "police.rescue",
]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[Event]]:
    n_children = draw(st.integers(1, 4))
    children = [
        {
            "child_id": f"K{i}",
            "birth_date": date(2006, 1, 1) + timedelta(days=draw(st.integers(0, 17 * 365))),
            "sex": draw(st.sampled_from(s.SEX_VALUES)),
            "district": draw(st.sampled_from(sorted(BEIJING_DISTRICTS))),
            "hukou": draw(st.sampled_from(s.HUKOU_VALUES)),
            "ethnicity": "han",
            "household_id": draw(st.sampled_from([None, "H1", "H2"])),
        }
        for i in range(n_children)
    ]
    events = []
    for i in range(draw(st.integers(0, 30))):
        event_type = draw(st.sampled_from(TYPES))
        kind = s.CATALOGUE[event_type]
        occurred = ORIGIN + timedelta(days=draw(st.integers(0, SPAN_DAYS - 1)), seconds=i)
        delay = draw(st.one_of(st.integers(0, 5), st.integers(0, 900)))
        recorded = min(
            occurred + timedelta(days=delay, hours=draw(st.integers(0, 23))), EXPORTED_AT
        )
        severity = (
            draw(st.one_of(st.none(), st.integers(*kind.severity))) if kind.severity else None
        )
        amount = draw(st.floats(0, 5000, allow_nan=False)) if kind.uses_amount else None
        detail = draw(st.sampled_from(kind.details)) if kind.details else None
        child = draw(st.sampled_from(children))["child_id"]
        events.append(
            Event(f"E{i}", child, event_type, occurred, recorded, severity, amount, detail)
        )
    return children, events


def as_histories(children: list[dict[str, Any]], events: list[Event]) -> CaseHistories:
    child_frame = pl.DataFrame(
        children, schema=dict.fromkeys(s.CHILDREN_COLUMNS, pl.String) | {"birth_date": pl.Date}
    )
    rows = [dataclasses.asdict(e) for e in events]
    event_frame = pl.DataFrame(
        rows,
        schema={
            s.EVENT_ID: pl.String,
            s.CHILD_ID: pl.String,
            s.EVENT_TYPE: pl.String,
            s.OCCURRED_AT: pl.Datetime("us"),
            s.RECORDED_AT: pl.Datetime("us"),
            s.SEVERITY: pl.Int64,
            s.AMOUNT: pl.Float64,
            s.DETAIL: pl.String,
        },
    )
    return CaseHistories(
        children=child_frame.lazy().cast(dict(s.CHILDREN_SCHEMA)),  # type: ignore[arg-type]
        events=event_frame.lazy().cast(dict(s.EVENTS_SCHEMA)),  # type: ignore[arg-type]
        exported_at=EXPORTED_AT,
        deployment=Deployment(),
        source=Path("."),
        report=ValidationReport(Path(".")),
    )


grids = st.lists(st.dates(date(2018, 6, 1), date(2025, 12, 31)), min_size=1, max_size=5)
policies = st.builds(
    Policy,
    unsubstantiated_retention_years=st.sampled_from([1, 2, 5]),
    report_link_days=st.sampled_from([30, 90]),
    exclude=st.sampled_from([(), ("poverty", "disability"), ("hukou", "sex", "area")]),
    association=st.booleans(),
)


# the property tests run on the defaults and on the defaults with the history features
CONFIGS = pytest.mark.parametrize(
    "config_file", [None, EXTENDED_FEATURES], ids=["default", "extended"]
)


def configure(policy: Policy, horizon: int, config_file: Path | None = None) -> FeatureConfig:
    config = load_feature_config(config_file)
    cap = min(config.days_since_cap, policy.unsubstantiated_retention_years * 365)
    label = dataclasses.replace(config.label, horizon_days=horizon)
    return dataclasses.replace(config, days_since_cap=cap, label=label)


def engine_rows(
    data: tuple[list[dict[str, Any]], list[Event]],
    grid: list[date],
    config: FeatureConfig,
    policy: Policy,
) -> list[dict[str, Any]]:
    table = build_features(as_histories(*data), config, policy, grid)
    frame = table.frame.drop(s.DISTRICT).collect()
    return frame.to_dicts()


@pytest.mark.slow
@CONFIGS
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=histories(), grid=grids, policy=policies, horizon=st.sampled_from([30, 180]))
def test_engine_equals_reference(
    config_file: Path | None,
    data: tuple[list[dict[str, Any]], list[Event]],
    grid: list[date],
    policy: Policy,
    horizon: int,
) -> None:
    config = configure(policy, horizon, config_file)
    table = build_features(as_histories(*data), config, policy, grid)
    got = table.frame.drop(s.DISTRICT).collect().to_dicts()
    want = reference_table(
        data[0], data[1], grid, table.registry, config, policy, EXPORTED_AT, dict(BEIJING_DISTRICTS)
    )
    assert [(r["child_id"], r["as_of"]) for r in got] == [(r["child_id"], r["as_of"]) for r in want]
    for g, w in zip(got, want, strict=True):
        diffs = {k: (g[k], w[k]) for k in w if not _same(g[k], w[k])}
        assert not diffs, (g["child_id"], g["as_of"], diffs)


def _same(got: Any, want: Any) -> bool:
    """Exact, but for amounts (sums of thousandths, divided in floating point) and
    recency-weighted counts (numpy's 2^x against Python's, summed in another order)."""
    if isinstance(got, float) and isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9)
    return bool(got == want)


@pytest.mark.slow
@CONFIGS
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=histories(),
    later=histories(),
    cut=st.dates(date(2019, 1, 1), date(2025, 1, 1)),
    policy=policies,
)
def test_events_recorded_after_d_change_no_feature_of_d(
    config_file: Path | None,
    data: tuple[list[dict[str, Any]], list[Event]],
    later: tuple[list[dict[str, Any]], list[Event]],
    cut: date,
    policy: Policy,
) -> None:
    """Adding events recorded after D, or changing any field of one, leaves D's row alone."""
    children, events = data
    d = datetime(cut.year, cut.month, cut.day)
    ids = [c["child_id"] for c in children]
    added = [
        dataclasses.replace(
            e,
            event_id=f"L{i}",
            child_id=ids[i % len(ids)],
            recorded_at=max(e.recorded_at, d + timedelta(seconds=1)),
        )
        for i, e in enumerate(later[1])
    ]
    changed = [
        dataclasses.replace(e, severity=None, detail=None, event_type="health.visit", amount=None)
        if e.recorded_at > d and e.event_type != "health.visit"
        else e
        for e in events
    ]
    config = configure(policy, 180, config_file)
    before = _rows_at(engine_rows((children, events), [cut], config, policy))
    after = _rows_at(engine_rows((children, changed + added), [cut], config, policy))
    assert before.keys() == after.keys()
    for key, row in before.items():
        features = {k: v for k, v in row.items() if k != config.label.name}
        assert features == {k: v for k, v in after[key].items() if k != config.label.name}


def test_a_finding_recorded_late_does_not_undo_an_expiry_already_passed() -> None:
    """The case hypothesis found: a report linked to an unsubstantiated finding has expired
    on D; a substantiated finding that occurred between the two, recorded after D, must
    leave D's row alone (linking to the first finding to *occur* re-linked the report)."""
    children = [
        {"child_id": "K0", "birth_date": date(2012, 1, 1), "sex": "F", "district": "Miyun",
         "hukou": "local", "ethnicity": "han", "household_id": None},
    ]  # fmt: skip
    report = Event("R", "K0", "report.concern", datetime(2019, 3, 1), datetime(2019, 3, 1),
                   None, None, None)  # fmt: skip
    unsubstantiated = Event("F1", "K0", "welfare.finding", datetime(2019, 3, 20),
                            datetime(2019, 4, 1), None, None, "unsubstantiated")  # fmt: skip
    late = Event("F0", "K0", "welfare.finding", datetime(2019, 3, 10), datetime(2021, 9, 1),
                 None, None, "substantiated")  # fmt: skip
    policy = dataclasses.replace(load_policy(), unsubstantiated_retention_years=2)
    config = configure(policy, 180)
    grid = [date(2021, 6, 1), date(2021, 10, 1)]
    before = _rows_at(engine_rows((children, [report, unsubstantiated]), grid, config, policy))
    after = _rows_at(engine_rows((children, [report, unsubstantiated, late]), grid, config, policy))
    on_d = ("K0", date(2021, 6, 1))
    assert before[on_d]["report_concern__count_all"] == 0  # expired two years after the report
    assert after[on_d] == before[on_d]
    # once recorded, the late finding counts; the report stays behind the first recorded
    later = after[("K0", date(2021, 10, 1))]
    assert later["report_concern__count_all"] == 0
    assert later["welfare_finding__substantiated__count_all"] == 1


def _rows_at(rows: list[dict[str, Any]]) -> dict[tuple[str, date], dict[str, Any]]:
    return {(r["child_id"], r["as_of"]): r for r in rows}


def test_labels_are_null_where_the_horizon_passes_the_export_date() -> None:
    children = [
        {"child_id": "K0", "birth_date": date(2015, 1, 1), "sex": "F", "district": "Miyun",
         "hukou": "local", "ethnicity": "han", "household_id": None},
    ]  # fmt: skip
    events = [
        Event(
            "E0", "K0", "health.visit", datetime(2019, 1, 5), datetime(2019, 1, 5), None, None, None
        ),
        Event(
            "E1",
            "K0",
            "welfare.emergency_removal",
            datetime(2024, 12, 20),
            datetime(2024, 12, 20),
            3,
            None,
            None,
        ),
    ]
    config, policy = load_feature_config(), load_policy()
    grid = [date(2024, 11, 1), date(2024, 12, 1), date(2024, 12, 3), date(2024, 12, 4)]
    rows = engine_rows((children, events), grid, config, policy)
    labels = {r["as_of"]: r["urgent_intervention"] for r in rows}
    # export 2025-06-01: D + 180 days <= export only up to 2024-12-03
    assert labels == {
        date(2024, 11, 1): 1,
        date(2024, 12, 1): 1,
        date(2024, 12, 3): 1,
        date(2024, 12, 4): None,
    }
