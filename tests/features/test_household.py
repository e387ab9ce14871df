"""The per-household entry point (a request's) equals the batch and the reference.

Random stores: every child's features from ``household_features`` over its household
alone equal its row of the batch table over the whole store, value for value, and the
plain-Python reference; and the records behind every value equal the batch's evidence.
A batch over many dates holds at each date, bit for bit, what that date alone gives (a
request's grid is its one date).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import schema as s
from features.build import build_features
from features.config import Policy
from features.deployment import BEIJING_DISTRICTS
from features.evidence import evidence_table
from features.household import Household, household_features
from features.plan import compile_plan
from tests.features.reference import Event, reference_table
from tests.features.test_build_reference import (
    CONFIGS,
    EXPORTED_AT,
    _same,
    as_histories,
    configure,
    grids,
    histories,
    policies,
)

pytestmark = pytest.mark.slow


def _households(children: pl.DataFrame, events: pl.DataFrame) -> dict[str, Household]:
    """Each child's household as a request would read it (its members and their events,
    in another order than the batch's: a store returns them in its own)."""
    out = {}
    for child in children.iter_rows(named=True):
        key = child[s.HOUSEHOLD_ID]
        same = pl.col(s.HOUSEHOLD_ID) == key if key else pl.col(s.CHILD_ID) == child[s.CHILD_ID]
        members = children.filter(same)
        mine = events.filter(pl.col(s.CHILD_ID).is_in(members[s.CHILD_ID].implode())).reverse()
        out[child[s.CHILD_ID]] = Household(members, mine, as_histories([], []).deployment)
    return out


@CONFIGS
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=histories(),
    day=st.dates(date(2018, 6, 1), date(2025, 12, 31)),
    policy=policies,
    horizon=st.sampled_from([30, 180]),
)
def test_each_household_equals_its_rows_of_the_batch_and_the_reference(
    config_file: Path | None,
    data: tuple[list[dict[str, Any]], list[Event]],
    day: date,
    policy: Policy,
    horizon: int,
) -> None:
    config = configure(policy, horizon, config_file)
    store = as_histories(*data)
    batch = build_features(store, config, policy, [day]).frame.collect()
    plan = compile_plan(config, policy)
    want = reference_table(
        data[0], data[1], [day], plan.registry, config, policy, EXPORTED_AT, dict(BEIJING_DISTRICTS)
    )
    assert batch[s.CHILD_ID].to_list() == [row["child_id"] for row in want]
    households = _households(store.children.collect(), store.events.collect())
    wanted = {child: list(plan.registry.specs) for child in batch[s.CHILD_ID]}
    records = evidence_table(store, policy, wanted, day)
    for row, reference in zip(batch.iter_rows(named=True), want, strict=True):
        child = row[s.CHILD_ID]
        found = household_features(plan, households[child], day)
        at = found.row_of(child)
        assert at is not None, child
        for spec in plan.registry.specs:
            value = found.value(spec.name, at)
            assert value == row[spec.name], (child, spec.name, value, row[spec.name])
            assert _same(value, reference[spec.name]), (child, spec.name, reference[spec.name])
            behind = records.filter(
                (pl.col("for_child") == child) & (pl.col("feature") == spec.name)
            )[s.EVENT_ID].to_list()
            assert list(found.records(child, spec)) == behind, (child, spec.name)
    for child in set(households) - set(batch[s.CHILD_ID]):
        found = household_features(plan, households[child], day)
        assert found.row_of(child) is None, child  # outside the population in both


@CONFIGS
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=histories(), grid=grids, policy=policies)
def test_each_date_of_a_batch_is_that_date_alone_bit_for_bit(
    config_file: Path | None,
    data: tuple[list[dict[str, Any]], list[Event]],
    grid: list[date],
    policy: Policy,
) -> None:
    """Nothing a date holds depends on the grid's other dates: not the counts, nor the
    recency-weighted counts (weighted per date, summed oldest first: features.kernel)."""
    config = configure(policy, 180, config_file)
    store = as_histories(*data)
    whole = build_features(store, config, policy, grid).frame.collect()
    for day in sorted(set(grid)):
        alone = build_features(store, config, policy, [day]).frame.collect()
        assert whole.filter(pl.col("as_of") == day).equals(alone), day


def test_a_household_of_children_without_events_has_no_rows() -> None:
    children = [
        {"child_id": "K0", "birth_date": date(2015, 1, 1), "sex": "F", "district": "Miyun",
         "hukou": "local", "ethnicity": "han", "household_id": "H"},
    ]  # fmt: skip
    store = as_histories(children, [])
    plan = compile_plan(configure(Policy(), 180), Policy())
    found = household_features(
        plan, Household(store.children.collect(), store.events.collect(), store.deployment),
        date(2024, 1, 1),
    )  # fmt: skip
    assert found.row_of("K0") is None
    assert found.child_ids == ("K0",)
