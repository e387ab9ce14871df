"""Evidence, shards, the written table, configuration errors and the registry."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from features import schema as s
from features.build import build_features, month_grid
from features.config import (
    EXTENDED_FEATURES,
    ConfigError,
    Policy,
    load_feature_config,
    load_policy,
)
from features.evidence import evidence
from features.registry import FeatureSpec, build_registry
from features.table import read_metadata, write_features
from features.vocabulary import DETAIL_LABELS, EVENT_LABELS, SOURCE_LABELS
from serving.cli import app
from tests.features.contract_cases import NOW, write_folder
from tests.features.reference import Event
from tests.features.test_build_reference import CONFIGS, as_histories, histories, policies

GRID = [date(2019, 6, 1), date(2021, 1, 1), date(2022, 7, 15), date(2024, 3, 1)]


@pytest.mark.slow
@CONFIGS
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=histories(), policy=policies)
def test_evidence_is_the_records_behind_each_value(
    config_file: Path | None, data: tuple[list[dict[str, Any]], list[Event]], policy: Policy
) -> None:
    config = load_feature_config(config_file)
    config = dataclasses.replace(
        config, days_since_cap=min(1095, policy.unsubstantiated_retention_years * 365)
    )
    case_histories = as_histories(*data)
    table = build_features(case_histories, config, policy, GRID)
    rows = table.frame.collect().to_dicts()
    for row in rows[:: max(1, len(rows) // 6)]:  # a spread of rows keeps the test quick
        day, child = row["as_of"], row["child_id"]
        for spec in table.registry.specs:
            found = evidence(case_histories, policy, spec, child, day)
            value = row[spec.name]
            ids = found[s.EVENT_ID].to_list()
            moment = datetime(day.year, day.month, day.day)
            assert all(t <= moment for t in found[s.RECORDED_AT]), spec.name
            if spec.kind in ("count", "household"):
                assert len(ids) == value, (spec.name, child, day, ids, value)
            elif spec.kind == "max_severity":
                assert set(found[s.SEVERITY].to_list()) == ({value} if value is not None else set())
            elif spec.kind == "sum_amount":
                assert sum(found[s.AMOUNT].fill_null(0).to_list()) == pytest.approx(value, abs=1e-2)
            elif spec.kind == "days_since" and value < config.days_since_cap:
                (occurred,) = found[s.OCCURRED_AT].to_list()
                assert (moment - occurred) // timedelta(days=1) == value
            elif spec.kind == "status" and value not in (False, 0, "none", "parent"):
                assert ids, (spec.name, value)
            elif spec.kind == "status_days" and value < config.days_since_cap:
                days = {max((moment - t) // timedelta(days=1), 0) for t in found[s.OCCURRED_AT]}
                assert days == {value}, (spec.name, child, day, ids, value)
            elif spec.kind in ("decayed", "trend", "sources"):
                assert _history_value(spec, found, moment) == pytest.approx(value, rel=1e-9)


def _history_value(spec: FeatureSpec, found: pl.DataFrame, moment: datetime) -> float:
    """A recency-weighted count, trend or source-systems count from its records."""
    ages = [(moment - t) / timedelta(days=1) for t in found[s.OCCURRED_AT]]
    if spec.kind == "decayed":
        return math.fsum(2 ** (-age / (spec.half_life_days or 0)) for age in ages)
    if spec.kind == "trend":
        recent = sum(age < 90 for age in ages)
        return recent - (len(ages) - recent) * 90 / 275
    return len({kind.partition(".")[0] for kind in found[s.EVENT_TYPE].cast(pl.String)})


def test_history_features_on_a_worked_example() -> None:
    children = [
        {"child_id": "K0", "birth_date": date(2015, 1, 1), "sex": "F", "district": "Miyun",
         "hukou": "local", "ethnicity": "han", "household_id": None},
    ]  # fmt: skip
    d = datetime(2024, 7, 1)
    events = [
        Event("E0", "K0", "report.concern", d - timedelta(days=30), d - timedelta(days=30),
              2, None, "school"),
        Event("E1", "K0", "report.concern", d - timedelta(days=180), d - timedelta(days=180),
              1, None, "police"),
        Event("E2", "K0", "health.visit", d - timedelta(days=200), d - timedelta(days=200),
              None, None, None),
        Event("E3", "K0", "report.concern", d - timedelta(days=10), d + timedelta(days=1),
              3, None, "school"),  # recorded after D: not known on D
    ]  # fmt: skip
    extended = load_feature_config(EXTENDED_FEATURES)
    # a report trend (not in the extended file: reports are held increasing, see
    # models/monotone.py; the feature itself is computed alike for every type)
    config = dataclasses.replace(extended, aggregates=tuple(
        dataclasses.replace(a, trend=True) if (a.event_type, a.detail) == ("report.concern", None)
        else a for a in extended.aggregates
    ))  # fmt: skip
    table = build_features(as_histories(children, events), config, load_policy(), [d.date()])
    (row,) = table.frame.collect().to_dicts()
    assert row["report_concern__decayed_90d"] == pytest.approx(2 ** (-1 / 3) + 0.25, rel=1e-12)
    assert row["report_concern__decayed_365d"] == pytest.approx(
        2 ** (-30 / 365) + 2 ** (-180 / 365)
    )
    assert row["report_concern__trend_90d"] == 1 - 1 * 90 / 275  # one, against 90/275 usual
    assert row["sources__distinct_90d"] == 1  # reports
    assert row["sources__distinct_365d"] == 2  # reports and health


def test_shard_by_shard_equals_whole(tmp_path: Path) -> None:
    rng_children = [
        {"child_id": f"K{i:02d}", "birth_date": date(2008 + i % 12, 1 + i % 12, 1 + i % 27),
         "sex": "FM"[i % 2], "district": "Haidian", "hukou": "local", "ethnicity": "han",
         "household_id": f"H{i // 2}" if i % 3 else None}
        for i in range(24)
    ]  # fmt: skip
    events = [
        Event(f"E{i}", f"K{i % 24:02d}", t, datetime(2019, 1, 1) + timedelta(days=13 * i),
              datetime(2019, 1, 1) + timedelta(days=13 * i + i % 40), sev, None, detail)
        for i, (t, sev, detail) in enumerate(
            [("report.concern", 2, "school"), ("welfare.finding", 3, "substantiated"),
             ("social_aid.dibao_start", None, None), ("welfare.emergency_removal", 3, None)] * 40
        )
    ]  # fmt: skip
    case_histories = as_histories(rng_children, events)
    policy = dataclasses.replace(load_policy(), association=True)
    config = load_feature_config()
    whole = write_features(case_histories, config, policy, GRID, tmp_path / "whole.parquet")
    sharded = write_features(
        case_histories, config, policy, GRID, tmp_path / "sharded.parquet", shards=4
    )
    assert whole.rows == sharded.rows > 0
    a = pl.read_parquet(tmp_path / "whole.parquet").sort("child_id", "as_of")
    b = pl.read_parquet(tmp_path / "sharded.parquet").sort("child_id", "as_of")
    assert a.equals(b)
    assert any(name.startswith("household__") for name in a.columns)


def test_written_table_carries_its_provenance(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data")
    runner = CliRunner()
    out = tmp_path / "features.parquet"
    result = runner.invoke(
        app,
        ["features", "build", "--data", str(folder), "--out", str(out),
         "--from", "2024-01-01", "--to", "2024-12-01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)
    assert meta["config_sha256"] == load_feature_config().digest()
    assert meta["policy_sha256"] == load_policy().digest()
    assert meta["as_of"][0] == "2024-01-01"
    assert len(meta["as_of"]) == 12
    names = {entry["name"] for entry in meta["registry"]}
    frame = pl.read_parquet(out)
    assert names == set(frame.columns) - {"child_id", "as_of", "district", "urgent_intervention"}
    assert "ethnicity" not in frame.columns


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = write_folder(tmp_path / "data")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cohort]\nmax_agee = 17\n")
    result = runner.invoke(
        app, ["features", "build", "--data", str(folder), "--out", str(tmp_path / "x.parquet"),
              "--as-of", "2024-01-01", "--config", str(bad)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "cohort.max_agee: unknown key" in result.output
    result = runner.invoke(
        app, ["features", "build", "--data", str(folder), "--out", str(tmp_path / "x.parquet")]
    )
    assert result.exit_code == 2
    assert "give --as-of DATE" in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_invalid_data_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data")
    (folder / "events.csv").write_text("event_id\n", encoding="utf-8")
    out = tmp_path / "x.parquet"
    result = CliRunner().invoke(
        app,
        ["features", "build", "--data", str(folder), "--out", str(out), "--as-of", "2024-01-01"],
    )
    assert result.exit_code == 1
    assert "missing column(s)" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[label]\nhorizon_days = 0\n", "label.horizon_days: must be a positive number"),
        ('[label]\nhorizon_days = "six months"\n', "label.horizon_days: expected int"),
        ('[[aggregate]]\nevent_type = "report.bogus"\n', "aggregate[0].event_type"),
        (
            '[[aggregate]]\nevent_type = "welfare.case_opened"\nmax_severity = [90]\n',
            "aggregate[0].max_severity: welfare.case_opened records no severity",
        ),
        (
            '[[aggregate]]\nevent_type = "report.concern"\ncount = [0]\n',
            "aggregate[0].count: 0 is not a window",
        ),
        ("[cohort]\nmin_age = 10\nmax_age = 5\n", "cohort: need 0 <= min_age <= max_age"),
        (
            '[[aggregate]]\nevent_type = "report.concern"\ndecayed = ["all"]\n',
            "aggregate[0].decayed: expected a list of half-lives (positive days)",
        ),
        (
            '[[aggregate]]\nevent_type = "report.concern"\ndecayed = [90, 90]\n',
            "aggregate[0].decayed: a half-life is listed twice",
        ),
        (
            '[[aggregate]]\nevent_type = "report.concern"\ntrend = 1\n',
            "aggregate[0].trend: expected bool",
        ),
        ("[windows]\nsources = [0]\n", "windows.sources: 0 is not a window"),
        ('[windows]\nstatus_days = "yes"\n', "windows.status_days: expected bool"),
        ("[nonsense]\n", "unknown key 'nonsense'"),
        ("not toml ===", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "features.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_feature_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[features]\nexclude = ["ethnicity"]\n', "ethnicity is never a feature"),
        ('[features]\nexclude = ["religion"]\n', "'religion' is not an excludable family"),
        ("[retention]\nunsubstantiated_years = -1\n", "retention.unsubstantiated_years"),
        (
            '[features]\nexclude = ["association"]\nassociation = true\n',
            "association = true but 'association' is also excluded",
        ),
    ],
)
def test_policy_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_policy(path)


def test_recency_may_not_outlive_retention(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    from features.contract import load_case_histories

    policy = dataclasses.replace(load_policy(), unsubstantiated_retention_years=2)
    with pytest.raises(ConfigError, match=r"windows\.days_since_cap"):
        build_features(load_case_histories(folder, now=NOW), load_feature_config(), policy, GRID)


def test_policy_exclusions_and_association_switch() -> None:
    config = load_feature_config()
    default = build_registry(config, load_policy())
    assert not any(spec.association for spec in default.specs)
    assert all(spec.family != "association" for spec in default.specs)
    on = build_registry(config, Policy(association=True))
    assert any(spec.association for spec in on.specs)
    excluded = build_registry(config, Policy(exclude=("disability", "hukou", "poverty")))
    families = {spec.family for spec in excluded.specs}
    assert not families & {"disability", "hukou", "poverty"}
    assert "status__disabled" in default.names
    assert "status__disabled" not in excluded.names


def test_the_extended_configuration_is_the_default_with_history_features() -> None:
    default, extended = load_feature_config(), load_feature_config(EXTENDED_FEATURES)
    assert not default.source_windows
    assert not default.status_days
    assert not any(a.decayed or a.trend for a in default.aggregates)
    plain = tuple(dataclasses.replace(a, decayed=(), trend=False) for a in extended.aggregates)
    off = dataclasses.replace(extended, aggregates=plain, source_windows=(), status_days=False)
    assert off == default
    assert extended.source_windows == (90, 365)
    assert extended.status_days
    assert sum(bool(a.decayed) for a in extended.aggregates) == 8
    # trends only of events not held increasing (models/monotone.py refuses the others)
    assert sum(a.trend for a in extended.aggregates) == 4


def test_source_systems_count_only_what_the_policy_allows() -> None:
    config = load_feature_config(EXTENDED_FEATURES)
    (everything, *_) = [
        spec for spec in build_registry(config, load_policy()).specs if spec.kind == "sources"
    ]
    excluded = build_registry(config, Policy(exclude=("poverty", "disability")))
    narrow = excluded["sources__distinct_90d"]
    assert narrow.family == everything.family == "sources"
    assert {t.partition(".")[0] for t in everything.sources} == set(s.SOURCES)
    assert {t.partition(".")[0] for t in narrow.sources} == set(s.SOURCES) - {
        "social_aid",
        "philanthropy",
    }
    assert "health.disability_certified" not in narrow.sources
    assert "social aid" in everything.description_en
    assert "social aid" not in narrow.description_en
    assert "社会救助" not in narrow.description_zh
    assert not any(spec.family == "poverty" for spec in excluded.specs)


@pytest.mark.parametrize("config_file", [None, EXTENDED_FEATURES], ids=["default", "extended"])
def test_every_feature_is_described_in_both_languages(config_file: Path | None) -> None:
    registry = build_registry(load_feature_config(config_file), Policy(association=True))
    assert len(set(registry.names)) == len(registry.names)
    for spec in registry.specs:
        assert spec.description_en
        assert spec.description_zh
        assert spec.unit_en
        assert spec.unit_zh
        assert all(source in s.CATALOGUE for source in spec.sources)
    assert set(EVENT_LABELS) == set(s.EVENT_TYPES)
    assert set(SOURCE_LABELS) == set(s.SOURCES)
    assert set(s.DETAIL_CODES) <= set(DETAIL_LABELS)


def test_month_grid() -> None:
    assert month_grid(date(2024, 1, 31), date(2024, 4, 30)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_feature_table_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data")
    from features.contract import load_case_histories

    histories = load_case_histories(folder, now=NOW)
    out = tmp_path / "f.parquet"
    write_features(histories, load_feature_config(), load_policy(), GRID, out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
