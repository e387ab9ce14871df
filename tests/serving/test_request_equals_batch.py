"""A request scores a child exactly as the batch does: features, score, factors, values
and records, bit for bit, for every model family, on a synthetic store and on random
ones (hypothesis). The request reads only the child's household (features.household);
the batch builds the whole table (models.batch)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import schema as s
from features.config import load_feature_config, load_policy
from features.contract import CaseHistories, load_case_histories
from features.household import Household
from features.synth import SynthConfig, generate
from models.batch import explained_rows
from models.families import FAMILIES
from models.flagging import FlaggingPolicy
from models.riskmodel import RiskModel
from models.settings import TrainingSettings, plan_split
from models.train import build_blocks, fit_model
from serving.errors import NotScorableError
from serving.explain import RiskView, explain_child
from tests.features.test_build_reference import as_histories, histories

pytestmark = pytest.mark.slow
TOP = 10
POLICY = FlaggingPolicy()


@dataclass(frozen=True)
class Store:
    histories: CaseHistories
    models: dict[str, RiskModel]
    day: date


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("equal") / "data"
    generate(SynthConfig(children=1500, seed=37, workers=1), folder)
    histories = load_case_histories(folder)
    config, policy = load_feature_config(), load_policy()
    training = TrainingSettings(
        train_dates=3,
        calibration_dates=1,
        test_dates=1,
        model={"ebm": {"interactions": 3, "outer_bags": 1, "max_rounds": 200}},
    )
    split = plan_split(training, histories.exported_at, config.label.horizon_days)
    blocks = build_blocks(histories, config, policy, split)
    models = {family: fit_model(family, blocks, config, policy, training) for family in FAMILIES}
    return Store(histories, models, split.test[-1])


def household_of(histories: CaseHistories, child_id: str) -> Household:
    """The child's household as the store hands it to a request."""
    children = histories.children.collect()
    key = children.filter(pl.col(s.CHILD_ID) == child_id)[s.HOUSEHOLD_ID][0]
    same = pl.col(s.HOUSEHOLD_ID) == key if key else pl.col(s.CHILD_ID) == child_id
    members = children.filter(same)
    events = histories.events.filter(pl.col(s.CHILD_ID).is_in(members[s.CHILD_ID].implode()))
    return Household(members, events.collect(), histories.deployment)


def assert_equal(view: RiskView, row: dict[str, Any]) -> None:
    """The request's view against the batch's row for the same child, bit for bit."""
    assert view.probability == row["probability"]
    assert view.score_1_20 == row["score_1_20"]
    assert view.district == row[s.DISTRICT]
    for i, factor in enumerate(view.factors, start=1):
        assert factor.factor == row[f"factor_{i}"], i
        assert factor.log_odds == row[f"factor_{i}_log_odds"], (i, factor.factor)
        assert factor.points == row[f"factor_{i}_points"], (i, factor.factor)
        if len(factor.features) == 1:
            text = None if factor.value is None else json.dumps(factor.value)
            assert text == row[f"factor_{i}_value"], (i, factor.factor)
        assert list(factor.event_ids) == row[f"factor_{i}_event_ids"], (i, factor.factor)
    beyond = [row.get(f"factor_{i}_log_odds") for i in range(len(view.factors) + 1, TOP + 1)]
    assert all(value is None or abs(value) <= 1e-12 for value in beyond)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_scores_a_request_as_the_batch_does(store: Store, family: str) -> None:
    model = store.models[family]
    batch = explained_rows(store.histories, model, store.day, TOP)
    rows = {row[s.CHILD_ID]: row for row in batch.iter_rows(named=True)}
    chosen = random.Random(family).sample(sorted(rows), 40)
    siblings = batch.join(store.histories.children.collect(), on=s.CHILD_ID).filter(
        pl.col(s.HOUSEHOLD_ID).is_duplicated() & pl.col(s.HOUSEHOLD_ID).is_not_null()
    )
    chosen += siblings[s.CHILD_ID].head(10).to_list()  # households of several children
    for child in chosen:
        household = household_of(store.histories, child)
        view = explain_child(model, household, child, store.day, POLICY, "en", TOP)
        assert_equal(view, rows[child])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=histories(), day=st.dates(date(2019, 1, 1), date(2025, 5, 1)))
def test_random_stores_score_alike_by_request_and_by_batch(
    store: Store, data: tuple[list[dict[str, Any]], list[Any]], day: date
) -> None:
    histories_ = as_histories(*data)
    for family in ("scorecard", "ebm"):
        model = store.models[family]
        batch = explained_rows(histories_, model, day, TOP)
        rows = {row[s.CHILD_ID]: row for row in batch.iter_rows(named=True)}
        for child in histories_.children.collect()[s.CHILD_ID]:
            household = household_of(histories_, child)
            if child not in rows:
                with pytest.raises(NotScorableError):
                    explain_child(model, household, child, day, POLICY, "en", TOP)
                continue
            assert_equal(
                explain_child(model, household, child, day, POLICY, "en", TOP), rows[child]
            )
