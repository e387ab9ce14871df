"""Behaviour of trained models: another piece of evidence of danger never lowers a score.

Each family is trained on synthetic histories; then some children get one more
substantiated finding (or one more concern report) recorded before the as-of date, the
features are rebuilt from the changed histories through the one pipeline, and no child's
calibrated rate may go down. A model with one coefficient turned against the policy is
caught, so the check can fail.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import features.schema as s
from features.build import build_features
from features.config import EXTENDED_FEATURES, load_feature_config, load_policy
from features.contract import CaseHistories, load_case_histories
from features.registry import build_registry
from features.synth import SynthConfig, generate
from models.design import design_columns
from models.flagging import load_flagging_policy, load_gate_policy
from models.monotone import DirectionError, column_directions
from models.riskmodel import RiskModel
from models.settings import TrainingSettings, load_training_settings
from models.train import train

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("direction")]
AS_OF = date(2025, 9, 1)


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> CaseHistories:
    folder = tmp_path_factory.mktemp("direction") / "data"
    generate(SynthConfig(children=4000, seed=23, workers=1), folder)
    return load_case_histories(folder)


def _settings() -> TrainingSettings:
    return dataclasses.replace(
        load_training_settings(),
        train_dates=6,
        calibration_dates=2,
        test_dates=2,
        model={
            "ebm": {"interactions": 2, "outer_bags": 1, "max_rounds": 300},
            "gbm": {"max_iter": 60},
        },
    )


def _fit(histories: CaseHistories, family: str, settings: TrainingSettings) -> RiskModel:
    result = train(
        histories,
        family,
        load_feature_config(),
        load_policy(),
        load_flagging_policy(),
        load_gate_policy(),
        settings,
    )
    return result.model


def _with_event(
    histories: CaseHistories, children: list[str], event_type: str, detail: str | None
) -> CaseHistories:
    n = len(children)
    extra = pl.DataFrame(
        {
            s.EVENT_ID: [f"TEST-{i}" for i in range(n)],
            s.CHILD_ID: children,
            s.EVENT_TYPE: [event_type] * n,
            s.OCCURRED_AT: [datetime(2025, 8, 20, 10)] * n,
            s.RECORDED_AT: [datetime(2025, 8, 21, 9)] * n,
            s.SEVERITY: [2] * n,
            s.AMOUNT: [None] * n,
            s.DETAIL: [detail] * n,
        }
    ).cast(dict(histories.events.collect_schema()))  # type: ignore[arg-type]
    return dataclasses.replace(histories, events=pl.concat([histories.events, extra.lazy()]))


def _changes(
    model: RiskModel, histories: CaseHistories, event_type: str, detail: str | None
) -> np.ndarray:
    before = build_features(histories, model.config, model.policy, [AS_OF]).frame.collect()
    children = before.sample(n=600, seed=2)[s.CHILD_ID].sort().to_list()
    changed = _with_event(histories, children, event_type, detail)
    after = build_features(changed, model.config, model.policy, [AS_OF]).frame.collect()
    rows_before = before.filter(pl.col(s.CHILD_ID).is_in(children)).sort(s.CHILD_ID)
    rows_after = after.filter(pl.col(s.CHILD_ID).is_in(children)).sort(s.CHILD_ID)
    assert rows_before[s.CHILD_ID].to_list() == rows_after[s.CHILD_ID].to_list()
    delta: np.ndarray = model.probability(model.matrix(rows_after)) - model.probability(
        model.matrix(rows_before)
    )
    return delta


@pytest.mark.parametrize("family", ["scorecard", "logistic", "ebm", "gbm", "baseline"])
@pytest.mark.parametrize(
    ("event_type", "detail"),
    [("welfare.finding", "substantiated"), ("report.concern", "school")],
)
def test_more_evidence_of_danger_never_lowers_a_score(
    histories: CaseHistories, family: str, event_type: str, detail: str
) -> None:
    model = _models(histories)[family]
    delta = _changes(model, histories, event_type, detail)
    assert delta.min() >= -1e-12, f"{(delta < -1e-12).sum()} of {delta.size} scores went down"


_CACHE: dict[str, RiskModel] = {}


def _models(histories: CaseHistories) -> dict[str, RiskModel]:
    if not _CACHE:
        for family in ("scorecard", "logistic", "ebm", "gbm", "baseline"):
            _CACHE[family] = _fit(histories, family, _settings())
    return _CACHE


def test_a_model_that_lowers_scores_on_a_finding_is_caught(histories: CaseHistories) -> None:
    """The check above can fail: the same logistic model with one coefficient turned
    against the policy (what unconstrained fits learnt on the 20k demo data) is caught."""
    model = copy.deepcopy(_models(histories)["logistic"])
    names = [column.name for column in model.columns]
    logistic = model.pipeline[-1]
    logistic.coef_[0, names.index("welfare_finding__substantiated__count_all")] = -2.0
    delta = _changes(model, histories, "welfare.finding", "substantiated")
    assert delta.min() < 0


def test_directions_follow_kind_and_detail() -> None:
    registry = build_registry(load_feature_config(), load_policy())
    columns = design_columns(registry)
    directions = dict(
        zip(
            (c.name for c in columns),
            column_directions(columns, registry.specs, ["welfare.finding:substantiated"]),
            strict=True,
        )
    )
    assert directions["welfare_finding__substantiated__count_365d"] == 1
    assert directions["welfare_finding__substantiated__max_severity_all"] == 1
    assert directions["welfare_finding__substantiated__max_severity_all__none"] == -1
    assert directions["welfare_finding__substantiated__days_since_last"] == -1
    assert directions["welfare_finding__substantiated__never"] == -1
    assert directions["welfare_finding__unsubstantiated__count_365d"] == 0
    assert directions["report_concern__count_365d"] == 0
    assert directions["age_years"] == 0


def test_unknown_selectors_are_refused(tmp_path: Path) -> None:
    from models.settings import TrainingSettingsError

    user = tmp_path / "t.toml"
    user.write_text('[direction]\nincreasing = ["welfare.finding:proven"]\n', encoding="utf-8")
    with pytest.raises(
        TrainingSettingsError, match=r"'proven' is not a detail of welfare\.finding"
    ):
        load_training_settings(user)
    user.write_text('[direction]\nincreasing = ["welfare.rumour"]\n', encoding="utf-8")
    with pytest.raises(
        TrainingSettingsError, match=re.escape("'welfare.rumour' is not an event type")
    ):
        load_training_settings(user)


def test_new_history_kinds_get_their_directions_and_a_held_trend_is_refused() -> None:
    """Recency-weighted counts and the number of sources rise with every held event; a
    trend of a held event can fall when one more is added, so it is refused by name."""
    registry = build_registry(load_feature_config(EXTENDED_FEATURES), load_policy())
    columns = design_columns(registry)
    directions = dict(
        zip(
            [c.name for c in columns],
            column_directions(columns, registry.specs, ["report.concern"]),
            strict=True,
        )
    )
    assert directions["report_concern__decayed_90d"] == 1
    assert directions["sources__distinct_90d"] == 1
    assert directions["welfare_investigation_opened__trend_90d"] == 0
    with pytest.raises(DirectionError, match="welfare_investigation_opened__trend_90d"):
        column_directions(columns, registry.specs, ["welfare.investigation_opened"])


def test_the_days_since_a_status_was_last_set_are_not_held() -> None:
    """Not a count of events: one more held event can move it either way (it resets the
    days), and neither more days nor fewer mean more danger, so it is left free (0) and
    not refused, even when every event of its group is held increasing."""
    registry = build_registry(load_feature_config(EXTENDED_FEATURES), load_policy())
    columns = design_columns(registry)
    held = ["community.parent_status", "social_aid.dibao_start", "welfare.case_opened"]
    directions = dict(
        zip(
            [c.name for c in columns],
            column_directions(columns, registry.specs, held),
            strict=True,
        )
    )
    days = [spec.name for spec in registry.specs if spec.kind == "status_days"]
    assert "status__dibao__days" in days
    assert {name: directions[name] for name in days} == dict.fromkeys(days, 0)
