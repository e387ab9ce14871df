"""`riskflag synth`: contract-valid, deterministic, realistic data with an exact oracle."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from features import schema as s
from features.deployment import BEIJING_DISTRICTS
from features.synth import SynthConfig, SynthConfigError, default_as_of_dates, generate
from features.synth.arrays import DAY, NEVER, TYPE_CODE, TimeGrid
from features.synth.checks import auc, labelled_oracle, read_table, with_labels
from features.synth.chunk import simulate_chunk
from features.synth.cli import synth
from features.synth.oracle import (
    HorizonState,
    horizon_state,
    oracle_probability,
    simulate_outcomes_from,
)
from features.synth.outcome_events import outcome_blocks
from features.synth.params import SynthParams
from features.synth.weekly import ADOPT, FINDING, INJURY, REMOVAL, RESCUE, OutcomeDraws, Removals

TABLES = ("children.parquet", "events.parquet", "oracle.parquet")
# as-of dates with non-overlapping horizons that end well before the export (2025-12-31)
SPACED_DATES = (date(2023, 8, 1), date(2024, 2, 1), date(2024, 8, 1), date(2025, 2, 1))


def _generate(tmp: Path, **kwargs: object) -> Path:
    config = SynthConfig(**{"children": 300, "seed": 1, "workers": 1, **kwargs})  # type: ignore[arg-type]
    out = tmp / "data"
    generate(config, out)
    return out


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 000 children, default settings (24 monthly oracle dates)."""
    out = tmp_path_factory.mktemp("synth") / "big"
    generate(SynthConfig(children=20_000, seed=3, workers=1), out)
    return out


@pytest.fixture(scope="module")
def big_labelled(big: Path) -> pl.DataFrame:
    return labelled_oracle(big)


# ---- determinism ------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_tables(tmp_path: Path) -> None:
    a = _generate(tmp_path / "a", children=400, seed=5)
    b = _generate(tmp_path / "b", children=400, seed=5)
    for name in (*TABLES, "export.json", "synth.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    a = _generate(tmp_path / "a", children=400, seed=5)
    b = _generate(tmp_path / "b", children=400, seed=6)
    for name in TABLES:
        assert not pl.read_parquet(a / name).equals(pl.read_parquet(b / name)), name


@pytest.mark.slow
def test_worker_processes_never_change_the_output(tmp_path: Path) -> None:
    one = _generate(tmp_path / "one", children=250, chunk_size=100, workers=1)
    two = _generate(tmp_path / "two", children=250, chunk_size=100, workers=2)
    for name in TABLES:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    children = pl.read_parquet(one / "children.parquet")
    assert children[s.CHILD_ID].to_list() == [f"BJ{i:08d}" for i in range(1, 251)]


# ---- the contract -----------------------------------------------------------------------


def _assert_valid(folder: Path) -> None:
    from features.contract import validate_folder  # the contract module is written alongside

    report = validate_folder(folder)
    assert report.ok, report.format_text()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300))
def test_every_folder_satisfies_the_contract(
    tmp_path_factory: pytest.TempPathFactory, seed: int, n: int
) -> None:
    folder = tmp_path_factory.mktemp("valid") / "data"
    generate(SynthConfig(children=n, seed=seed, workers=1), folder)
    _assert_valid(folder)


def test_csv_folder_satisfies_the_contract(tmp_path: Path) -> None:
    folder = _generate(tmp_path, children=500, seed=9, file_format="csv")
    assert {p.name for p in folder.iterdir()} == {
        "children.csv", "events.csv", "export.json", "oracle.parquet", "synth.json",
    }  # fmt: skip
    _assert_valid(folder)
    parquet = _generate(tmp_path / "p", children=500, seed=9)
    csv_events = read_table(folder, s.EVENTS).with_columns(pl.col(s.SEVERITY).cast(pl.Int8))
    assert csv_events.equals(pl.read_parquet(parquet / "events.parquet"))


def test_timestamps_follow_the_rules(tmp_path: Path) -> None:
    folder = _generate(tmp_path, children=2000, seed=4)
    exported = datetime.fromisoformat(
        json.loads((folder / "export.json").read_text())["exported_at"]
    )
    assert exported == datetime(2025, 12, 31)
    events = pl.read_parquet(folder / "events.parquet")
    children = pl.read_parquet(folder / "children.parquet")
    joined = events.join(children.select(s.CHILD_ID, s.BIRTH_DATE), on=s.CHILD_ID)
    occurred, recorded = pl.col(s.OCCURRED_AT), pl.col(s.RECORDED_AT)
    assert joined.filter(recorded < occurred).is_empty()
    assert joined.filter(recorded > exported).is_empty()
    assert joined.filter(occurred < pl.col(s.BIRTH_DATE).cast(s.TIMESTAMP_DTYPE)).is_empty()
    adult = pl.col(s.BIRTH_DATE).dt.offset_by("18y").cast(s.TIMESTAMP_DTYPE)
    assert joined.filter(occurred >= adult + pl.duration(days=1)).is_empty()
    before = joined.filter(occurred < datetime(2019, 1, 1))
    assert before.height > 0, "circumstances older than the window are back-filled"
    assert before.filter(recorded < datetime(2019, 1, 1)).is_empty()
    assert events[s.EVENT_ID].n_unique() == events.height
    births = children[s.BIRTH_DATE].to_list()
    assert min(births) > date(2001, 1, 1)
    assert max(births) < date(2025, 12, 31)
    assert np.mean([born >= date(2019, 1, 1) for born in births]) > 0.15


def test_oracle_covers_every_child_aged_0_17_on_each_date(tmp_path: Path) -> None:
    folder = _generate(tmp_path, children=1000, seed=2)
    oracle = pl.read_parquet(folder / "oracle.parquet")
    assert oracle.schema == pl.Schema(
        {
            s.CHILD_ID: pl.String,
            "as_of": pl.Date,
            "horizon_days": pl.Int32,
            "probability": pl.Float64,
        }
    )
    dates = default_as_of_dates(date(2019, 1, 1), date(2025, 12, 31), 180)
    assert len(dates) == 24
    assert dates[0] == date(2023, 8, 1)
    assert dates[-1] == date(2025, 7, 1)
    assert sorted(oracle["as_of"].unique().to_list()) == list(dates)
    children = pl.read_parquet(folder / "children.parquet")
    for day in (dates[0], dates[-1]):
        born = pl.col(s.BIRTH_DATE)
        alive = children.filter((born <= day) & (born.dt.offset_by("18y") > day))
        rows = oracle.filter(pl.col("as_of") == day)
        assert set(rows[s.CHILD_ID]) == set(alive[s.CHILD_ID])
    assert oracle["probability"].is_between(0.0, 1.0).all()


# ---- the oracle -------------------------------------------------------------------------


def _z(observed: float, expected: float, variance: float) -> float:
    return float((observed - expected) / np.sqrt(variance))


def _mc_states() -> tuple[SynthConfig, list[HorizonState]]:
    """300 children (the 150 riskiest and 150 others) at three as-of dates of a small run."""
    config = SynthConfig(children=3000, seed=5, workers=1)
    latent = simulate_chunk(config, 0, keep_latent=True).latent
    assert latent is not None
    grid = TimeGrid(config.start, config.end)
    rng = np.random.default_rng(0)
    states = []
    for day in (date(2020, 3, 1), date(2022, 7, 13), date(2024, 11, 1)):
        state = horizon_state(config.params, latent, grid.day_of(day) * DAY, 180)
        order = np.argsort(oracle_probability(state))
        rows = np.concatenate([order[-150:], rng.choice(order[:-150], 150, replace=False)])
        states.append(state.subset(rows))
    return config, states


def _calibration_z(oracle: np.ndarray, mc: np.ndarray, draws: int) -> list[float]:
    """z of MC hits against the oracle: overall, then per oracle-probability quintile."""
    var = oracle * (1 - oracle) / draws
    zs = [_z(mc.sum(), oracle.sum(), var.sum())]
    for rows in np.array_split(np.argsort(oracle), 5):
        zs.append(_z(mc[rows].sum(), oracle[rows].sum(), var[rows].sum()))
    return zs


def test_oracle_matches_monte_carlo_replays_of_the_future() -> None:
    config, states = _mc_states()
    draws = 4000
    rng = np.random.default_rng(1)
    oracle = np.concatenate([oracle_probability(state) for state in states])
    mc = np.concatenate([simulate_outcomes_from(state, draws, rng) for state in states])
    zs = _calibration_z(oracle, mc, draws)
    assert max(abs(z) for z in zs) < 4, zs
    per_child = (mc - oracle) / np.sqrt(oracle * (1 - oracle) / draws)
    assert np.mean(np.abs(per_child) > 3) < 0.02
    # the same test fails when only the oracle's crisis multiplier is off by 30%
    wrong = dataclasses.replace(
        config.params, crisis_multiplier=config.params.crisis_multiplier * 1.3
    )
    latent = simulate_chunk(config, 0, keep_latent=True).latent
    assert latent is not None
    perturbed = np.concatenate(
        [
            oracle_probability(horizon_state(wrong, latent, one.as_of_s, 180, child=one.child))
            for one in states
        ]
    )
    assert max(abs(z) for z in _calibration_z(perturbed, mc, draws)) > 4


def test_oracle_is_exact_for_a_constant_hazard() -> None:
    k, n = 3, 4
    rate = np.full((k, n), 0.2)
    state = HorizonState(
        child=np.arange(n), as_of_s=0, crisis0=np.array([False, True, False, True]),
        calm=rate, in_crisis=2 * rate, onset=np.zeros((k, n)), leave=np.zeros((k, n)),
        exposure=np.full((k, n), 0.5),
    )  # fmt: skip
    expected = 1 - np.exp(-np.array([0.3, 0.6, 0.3, 0.6]))
    np.testing.assert_allclose(oracle_probability(state), expected, rtol=1e-12)


def test_mean_oracle_matches_outcomes_realised_in_the_data(big: Path) -> None:
    oracle = pl.read_parquet(big / "oracle.parquet").filter(pl.col("as_of").is_in(SPACED_DATES))
    rows = with_labels(oracle, read_table(big, s.EVENTS), 180)
    p = rows["probability"].to_numpy()
    y = rows["label"].to_numpy()
    assert rows.height > 40_000
    assert abs(_z(y.sum(), p.sum(), (p * (1 - p)).sum())) < 4
    for part in np.array_split(np.argsort(p), 4):
        assert abs(_z(y[part].sum(), p[part].sum(), (p[part] * (1 - p[part])).sum())) < 4


def test_events_tied_to_an_outcome_never_come_before_it() -> None:
    params = SynthParams()
    n = 400
    child = np.arange(n)
    time = 1_000 * DAY + child * 3_600
    kind = child % 4
    draws = OutcomeDraws(
        child, time, kind, np.where(kind == INJURY, 2, np.where(kind == FINDING, 3, 1))
    )
    removal = kind == REMOVAL
    m = int(removal.sum())
    removals = Removals(
        child[removal], time[removal], np.arange(m) % 3,
        np.where(np.arange(m) % 3 == 2, NEVER, time[removal] + 200 * DAY),
        np.arange(m) % 2 == 0, np.arange(m) % 4 == 0,
    )  # fmt: skip
    blocks = outcome_blocks(
        params, draws, removals, np.zeros(n, dtype=np.int64), np.random.default_rng(0)
    )
    missing = TYPE_CODE["police.missing_report"]
    for block in blocks:
        t = time[block.child]
        is_missing = block.etype == missing
        assert (block.occurred[~is_missing] >= t[~is_missing]).all()
        assert (block.recorded[is_missing] >= t[is_missing]).all()
        assert (block.occurred[is_missing] >= t[is_missing] - 3 * DAY).all()
        assert set(kind[block.child[is_missing]]) <= {RESCUE}
    assert ADOPT in removals.end_kind


# ---- what the data looks like -----------------------------------------------------------


def test_every_event_type_and_detail_code_appears(big: Path) -> None:
    counts = read_table(big, s.EVENTS).group_by(s.EVENT_TYPE, s.DETAIL).len()
    seen = {(row[0], row[1]) for row in counts.iter_rows()}
    missing = [
        (kind.event_type, code)
        for kind in s.CATALOGUE.values()
        for code in (kind.details or (None,))
        if (kind.event_type, code) not in seen
        and not (code is None and any(t == kind.event_type for t, _ in seen))
    ]
    assert not missing


def test_base_rate_lies_between_1_and_3_percent(big_labelled: pl.DataFrame) -> None:
    rate = big_labelled["label"].mean()
    assert isinstance(rate, float)
    assert 0.01 <= rate <= 0.03
    assert 0.01 <= big_labelled["probability"].mean() <= 0.03  # type: ignore[operator]


def test_risk_is_learnable_but_not_trivial(big_labelled: pl.DataFrame) -> None:
    y = big_labelled["label"].to_numpy()
    signal = auc(big_labelled["reports"].to_numpy(), y)
    oracle = auc(big_labelled["probability"].to_numpy(), y)
    assert 0.6 < signal < oracle < 0.95


def _with_area(children: pl.DataFrame) -> pl.DataFrame:
    return children.with_columns(
        pl.col(s.DISTRICT).replace_strict(dict(BEIJING_DISTRICTS)).alias("area")
    )


def test_schools_and_hospitals_see_outlying_districts_less(big: Path) -> None:
    children = _with_area(read_table(big, s.CHILDREN))
    reports = read_table(big, s.EVENTS).filter(pl.col(s.EVENT_TYPE) == "report.concern")
    seen = reports.join(children.select(s.CHILD_ID, "area"), on=s.CHILD_ID)
    institutional = pl.col(s.DETAIL).is_in(["school", "kindergarten", "hospital"])
    by_area = (
        seen.group_by("area")
        .agg(institutional.sum().alias("institutional"), pl.len().alias("reports"))
        .join(children.group_by("area").len("children"), on="area")
        .with_columns(
            (pl.col("institutional") / pl.col("children")).alias("per_child"),
            (pl.col("institutional") / pl.col("reports")).alias("share"),
        )
    )
    core = by_area.filter(pl.col("area") == "core").row(0, named=True)
    outlying = by_area.filter(pl.col("area") == "outlying").row(0, named=True)
    assert outlying["per_child"] < 0.95 * core["per_child"]
    assert outlying["share"] < 0.95 * core["share"]


def test_left_behind_children_are_mostly_in_outlying_districts(big: Path) -> None:
    children = _with_area(read_table(big, s.CHILDREN))
    registered = read_table(big, s.EVENTS).filter(
        pl.col(s.EVENT_TYPE) == "community.left_behind_registered"
    )
    areas = registered.join(children, on=s.CHILD_ID)["area"]
    assert len(areas) > 50
    assert (areas == "outlying").mean() > 0.75 > (children["area"] == "outlying").mean()  # type: ignore[operator]


def test_siblings_share_household_district_and_hukou(big: Path) -> None:
    children = read_table(big, s.CHILDREN)
    households = (
        children.filter(pl.col(s.HOUSEHOLD_ID).is_not_null())
        .group_by(s.HOUSEHOLD_ID)
        .agg(
            pl.len().alias("size"),
            pl.col(s.DISTRICT).n_unique().alias("districts"),
            pl.col(s.HUKOU).n_unique().alias("hukous"),
        )
    )
    assert households["districts"].max() == 1
    assert households["hukous"].max() == 1
    sizes = households["size"].value_counts().sort("size")
    assert sizes["size"].to_list() == [1, 2, 3]
    share = (sizes["count"] / sizes["count"].sum()).to_list()
    assert abs(share[0] - 0.65) < 0.03
    assert abs(share[1] - 0.30) < 0.03
    assert 0.02 < children[s.HOUSEHOLD_ID].null_count() / children.height < 0.05
    assert set(children[s.DISTRICT]) == set(BEIJING_DISTRICTS)


# ---- the command ------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("synth")(synth)
    return app


def test_cli_writes_a_folder_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--children", "200", "--seed", "3", "--out", str(out), "--format", "csv"]
    result = CliRunner().invoke(
        _app(), [*args, "--oracle-as-of", "2021-05-01", "--oracle-as-of", "2020-05-01"]
    )
    assert result.exit_code == 0, result.output
    assert "children: 200" in result.output
    assert "base rate" in result.output
    meta = json.loads((out / "synth.json").read_text())
    assert meta["seed"] == 3
    assert meta["oracle_as_of"] == ["2020-05-01", "2021-05-01"]
    assert meta["params"]["crisis_multiplier"] == SynthParams().crisis_multiplier


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--children", "0"], "--children must be at least 1"),
        (["--start", "2019-02-30"], "--start: '2019-02-30' is not a date"),
        (["--start", "2026-01-01"], "must be before --end"),
        (["--end", "2099-01-01"], "lies in the future"),
        (["--oracle-as-of", "2025-10-01"], "--oracle-as-of 2025-10-01"),
        (["--format", "xlsx"], "--format must be parquet or csv"),
    ],
)
def test_cli_user_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    base = {"--children": "10", "--seed": "1", "--out": str(tmp_path / "out")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = CliRunner().invoke(_app(), [item for pair in base.items() for item in pair])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_non_empty_folder_but_fills_an_empty_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["--children", "10", "--seed", "1", "--out", str(out)]
    assert CliRunner().invoke(_app(), args).exit_code == 0
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    assert "exists and is not an empty folder" in result.output


def test_a_failed_run_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import features.synth.generator as module

    def broken(config: SynthConfig, index: int) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, "chunk_frames", broken)
    with pytest.raises(RuntimeError):
        generate(SynthConfig(children=10, seed=1, workers=1), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_config_rejects_oracle_dates_outside_the_window() -> None:
    with pytest.raises(SynthConfigError, match="--oracle-as-of 2018-12-01"):
        generate(SynthConfig(children=5, seed=1, oracle_as_of=(date(2018, 12, 1),)), Path("unused"))
