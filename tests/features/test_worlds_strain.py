"""The strain world: contract-valid, deterministic, usable end to end, with an exact oracle."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from features import schema as s
from features.build import build_features
from features.config import load_feature_config, load_policy
from features.contract import load_case_histories, validate_folder
from features.synth import default_as_of_dates
from features.synth.arrays import DAY, TYPE_CODE
from features.synth.checks import read_table, with_labels
from features.worlds.strain import (
    OutputFolderError,
    StrainParams,
    build_world,
    generate_strain,
    support,
)
from features.worlds.strain.generate import START
from features.worlds.strain.hazard import outcome_rate
from features.worlds.strain.oracle import (
    HorizonState,
    horizon_state,
    oracle_probability,
    simulate_horizon,
)
from features.worlds.strain.world import World

TABLES = ("children.parquet", "events.parquet", "oracle.parquet")
AS_OF = default_as_of_dates(date(2019, 1, 1), date(2025, 12, 31), 180)
# oracle dates whose 180-day horizons do not overlap, the last date among them
SPACED = (date(2024, 1, 1), date(2024, 7, 1), date(2025, 1, 1), AS_OF[-1])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 000 children, default parameters."""
    out = tmp_path_factory.mktemp("strain") / "small"
    generate_strain(2000, 11, out)
    return out


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """The oracle of 6 000 children at the spaced dates, with realised labels."""
    out = tmp_path_factory.mktemp("strain") / "labelled"
    generate_strain(6000, 12, out)
    oracle = pl.read_parquet(out / "oracle.parquet").filter(pl.col("as_of").is_in(SPACED))
    return with_labels(oracle, read_table(out, s.EVENTS), 180)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(3000, 5)


# ---- the contract and the folder ---------------------------------------------------------


def test_a_small_world_passes_the_contract(small: Path) -> None:
    report = validate_folder(small)
    assert report.ok, report.format_text()
    histories = load_case_histories(small)
    assert histories.children.collect().height == 2000
    assert histories.exported_at.isoformat() == "2025-12-31T00:00:00"
    children = pl.read_parquet(small / "children.parquet")
    assert children[s.CHILD_ID][0] == "SW00000001"
    assert children[s.HOUSEHOLD_ID].drop_nulls().str.starts_with("SH").all()


def test_events_cover_the_catalogue_and_keep_the_rules(small: Path) -> None:
    events = pl.read_parquet(small / "events.parquet")
    assert events.schema == s.EVENTS_SCHEMA
    assert (events[s.RECORDED_AT] >= events[s.OCCURRED_AT]).all()
    assert events[s.OCCURRED_AT].min() >= datetime(2019, 1, 1)  # type: ignore[operator]
    seen = set(events[s.EVENT_TYPE].unique().to_list())
    assert len(seen) >= 28, set(s.EVENT_TYPES) - seen


def test_oracle_has_a_row_for_every_child_aged_0_17_on_each_date(small: Path) -> None:
    children = pl.read_parquet(small / "children.parquet")
    oracle = pl.read_parquet(small / "oracle.parquet")
    assert oracle.schema == pl.Schema(
        {"child_id": pl.String, "as_of": pl.Date, "horizon_days": pl.Int32,
         "probability": pl.Float64}
    )  # fmt: skip
    expected = (
        children.join(pl.DataFrame({"as_of": AS_OF}), how="cross")
        .filter(
            (pl.col(s.BIRTH_DATE) <= pl.col("as_of"))
            & (pl.col(s.BIRTH_DATE).dt.offset_by("18y") > pl.col("as_of"))
        )
        .select(s.CHILD_ID, "as_of")
        .sort(s.CHILD_ID, "as_of")
    )
    assert oracle.select(s.CHILD_ID, "as_of").equals(expected)
    p = oracle["probability"].to_numpy()
    assert ((p > 0) & (p < 1)).all()
    assert (oracle["horizon_days"] == 180).all()


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    generate_strain(300, 5, tmp_path / "a")
    generate_strain(300, 5, tmp_path / "b")
    generate_strain(300, 6, tmp_path / "c")
    for name in (*TABLES, "export.json", "strain.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for name in TABLES:
        assert not pl.read_parquet(tmp_path / "a" / name).equals(
            pl.read_parquet(tmp_path / "c" / name)
        )


def test_a_non_empty_folder_is_refused_and_an_empty_one_filled(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="not an empty folder"):
        generate_strain(50, 1, full)
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    generate_strain(50, 1, empty)
    assert (empty / "oracle.parquet").exists()


# ---- the oracle is right ---------------------------------------------------------------


def _z(observed: float, expected: float, variance: float) -> float:
    return float((observed - expected) / np.sqrt(max(variance, 1e-12)))


def _states(world: World, per_date: int = 200) -> list[HorizonState]:
    """At three dates: the riskiest children and a random sample of the others."""
    rng = np.random.default_rng(0)
    states = []
    for day in (date(2023, 9, 1), date(2024, 6, 1), date(2025, 3, 1)):
        state = horizon_state(world.latent, (day - START).days * DAY, 180)
        p = oracle_probability(StrainParams(), state)
        risky = np.argsort(-p)[: per_date // 2]
        others = rng.choice(np.setdiff1d(np.arange(len(p)), risky), per_date // 2, replace=False)
        states.append(state.subset(np.r_[risky, others]))
    return states


def _pooled_z(oracle: np.ndarray, mc: np.ndarray, draws: int) -> list[float]:
    """z of the Monte Carlo hits against the oracle: overall, then per oracle quintile."""
    parts = [np.arange(len(oracle)), *np.array_split(np.argsort(oracle), 5)]
    return [
        _z(mc[i].sum(), oracle[i].sum(), (oracle[i] * (1 - oracle[i])).sum() / draws) for i in parts
    ]


def test_oracle_matches_monte_carlo_replays_of_the_future(world: World) -> None:
    params, draws = StrainParams(), 3000
    states = _states(world)
    oracle = np.concatenate([oracle_probability(params, st) for st in states])
    rng = np.random.default_rng(42)
    mc = np.concatenate([simulate_horizon(params, st, draws, rng) for st in states])
    assert oracle.mean() > 0.02  # the riskiest half makes the test sensitive
    assert max(abs(z) for z in _pooled_z(oracle, mc, draws)) < 4
    per_child = (mc - oracle) / np.sqrt(oracle * (1 - oracle) / draws)
    assert (np.abs(per_child) > 3).mean() < 0.02
    # the same replays refute an oracle with a slightly wrong ladder
    wrong = dataclasses.replace(params, recovery_slope=params.recovery_slope * 1.5)
    bad = np.concatenate([oracle_probability(wrong, st) for st in states])
    assert abs(_pooled_z(bad, mc, draws)[0]) > 6


def test_oracle_is_exact_for_a_fixed_level_and_constant_hazard(world: World) -> None:
    """No moves (no shocks, drift or recovery): survival is exp(-rate x exposure)."""
    params = dataclasses.replace(
        StrainParams(), shock_rate=(0.0, 0.0, 0.0), drift=(0.0, 0.0, 0.0),
        recovery=(0.0, 0.0, 0.0),
    )  # fmt: skip
    state = _states(world, 20)[0]
    state = dataclasses.replace(state, shock_rate=0 * state.shock_rate, drift=0 * state.drift,
                                recovery=0 * state.recovery)  # fmt: skip
    rate = outcome_rate(params, state.factor, state.band, state.level0, state.away)
    expected = 1 - np.exp(-(rate * state.exposure).sum(axis=0))
    np.testing.assert_allclose(oracle_probability(params, state), expected, rtol=1e-10)


def test_mean_oracle_matches_the_outcomes_realised_in_the_data(labelled: pl.DataFrame) -> None:
    p = labelled["probability"].to_numpy()
    y = labelled["label"].to_numpy()
    assert labelled.height > 12_000
    assert abs(_z(y.sum(), p.sum(), (p * (1 - p)).sum())) < 4
    for part in np.array_split(np.argsort(p), 4):
        assert abs(_z(y[part].sum(), p[part].sum(), (p[part] * (1 - p[part])).sum())) < 4


def test_oracle_ranks_the_realised_outcomes(labelled: pl.DataFrame) -> None:
    y = labelled["label"].to_numpy()
    auc = roc_auc_score(y, labelled["probability"].to_numpy())
    assert 0.01 < y.mean() < 0.03
    assert 0.8 < auc < 0.98


# ---- usable end to end -----------------------------------------------------------------


def test_features_build_on_the_world_with_positive_labels(small: Path) -> None:
    histories = load_case_histories(small)
    table = build_features(histories, load_feature_config(), load_policy(), list(SPACED))
    frame = table.frame.collect()
    labels = frame[table.label].drop_nulls()
    assert frame.height > 3000
    assert labels.sum() > 0
    oracle = pl.read_parquet(small / "oracle.parquet")
    joined = frame.select(s.CHILD_ID, "as_of").join(oracle, on=[s.CHILD_ID, "as_of"], how="left")
    assert joined["probability"].null_count() == 0  # every scored row has its oracle


def test_the_world_holds_contract_1_1_support_and_leaves_the_rest_as_it_was(
    small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = ("social_aid.employment_support", "social_aid.housing_support", "philanthropy.aid")
    events = pl.read_parquet(small / "events.parquet")
    assert set(new) <= set(events[s.EVENT_TYPE].cast(pl.String))
    assert '"contract_version": "1.1"' in (small / s.EXPORT_FILE).read_text()
    full = build_world(800, 3, StrainParams()).events
    monkeypatch.setattr(support, "default_support_kinds", lambda: ())
    bare = build_world(800, 3, StrainParams()).events
    old = ~np.isin(full.etype, [TYPE_CODE[kind] for kind in new])
    assert (~old).any()
    for name in ("child", "etype", "occurred", "recorded", "severity", "detail"):
        assert np.array_equal(getattr(full, name)[old], getattr(bare, name)), name
