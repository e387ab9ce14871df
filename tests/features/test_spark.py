"""The Spark engine builds the very feature table one machine builds, row for row."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from features import schema as s
from features.build import month_grid
from features.config import EXTENDED_FEATURES, load_feature_config, load_policy
from features.contract import load_case_histories
from features.deployment import Deployment
from features.registry import build_registry
from features.spark import build_features_spark
from features.spark_run import SparkJobError
from features.table import SIDECAR, read_metadata, read_table, write_features
from serving.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

DATES = month_grid(date(2024, 1, 1), date(2024, 12, 1), "3mo")
# siblings' records (association features) on: what partitioning by household protects
POLICY = dataclasses.replace(load_policy(None), association=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from features.synth import SynthConfig, generate

    folder = tmp_path_factory.mktemp("spark-data") / "data"
    generate(SynthConfig(children=1500, seed=31, workers=1), folder)
    return folder


@pytest.mark.parametrize("config_file", [None, EXTENDED_FEATURES], ids=["default", "extended"])
def test_spark_feature_table_equals_the_single_machine_table(
    spark: Any, data: Path, tmp_path: Path, config_file: Path | None
) -> None:
    config, policy = load_feature_config(config_file), POLICY
    one = write_features(
        load_case_histories(data), config, policy, DATES, tmp_path / "one.parquet", shards=1
    )
    built = build_features_spark(
        spark, str(data), str(tmp_path / "spark"), config, policy, DATES, Deployment(), 3
    )
    expected = pl.read_parquet(one.path).sort(s.CHILD_ID, "as_of")
    got = read_table(tmp_path / "spark").collect().sort(s.CHILD_ID, "as_of")
    assert got.schema == expected.schema  # UInt16, Int8, Enum restored exactly
    assert got.equals(expected)
    assert (built.rows, built.children, built.labelled, built.positives) == (
        one.rows, one.children, one.labelled, one.positives,
    )  # fmt: skip
    # the data exercise what partitioning could break: siblings' records, several as-of
    # dates in several partitions, outcomes in the labels
    associations = [spec.name for spec in build_registry(config, policy).specs if spec.association]
    assert got.select(pl.any_horizontal(pl.col(associations) > 0).sum()).item() > 0
    assert got["as_of"].n_unique() == len(DATES)
    assert built.partitions == 3
    assert built.positives > 0
    parts = list((tmp_path / "spark").glob("as_of=*/*.parquet"))
    assert {p.parent.name for p in parts} == {f"as_of={d}" for d in DATES}
    # the provenance one machine puts in the file's footer sits beside the parts
    ours, theirs = read_metadata(one.path), read_metadata(tmp_path / "spark")
    assert ours.keys() == theirs.keys()
    assert all(ours[k] == theirs[k] for k in ours if k != "source")
    assert theirs["source"]["exported_at"] == ours["source"]["exported_at"]


def test_households_straddling_partitions_would_change_association_features(
    data: Path, tmp_path: Path
) -> None:
    """What the partitioning protects: split a household and its siblings' counts change
    (so the equality above could fail if Spark split households)."""
    config = load_feature_config(None)
    associations = [spec.name for spec in build_registry(config, POLICY).specs if spec.association]
    whole = write_features(load_case_histories(data), config, POLICY, DATES, tmp_path / "a.parquet")
    table = pl.read_parquet(whole.path)
    children = pl.read_parquet(data / "children.parquet")
    counted = table.filter(pl.any_horizontal(pl.col(associations) > 0))[s.CHILD_ID][0]
    household = children.filter(pl.col(s.CHILD_ID) == counted)[s.HOUSEHOLD_ID][0]
    members = children.filter(pl.col(s.HOUSEHOLD_ID) == household)[s.CHILD_ID].to_list()
    split = tmp_path / "split"
    shutil.copytree(data, split)
    children.with_columns(
        pl.when(pl.col(s.CHILD_ID) == counted)
        .then(pl.lit("moved-away"))
        .otherwise(pl.col(s.HOUSEHOLD_ID))
        .alias(s.HOUSEHOLD_ID)
    ).write_parquet(split / "children.parquet")
    apart = write_features(
        load_case_histories(split), config, POLICY, DATES, tmp_path / "b.parquet"
    )
    rows = pl.col(s.CHILD_ID).is_in(members)
    a = table.filter(rows).sort(s.CHILD_ID, "as_of").select(associations)
    b = pl.read_parquet(apart.path).filter(rows).sort(s.CHILD_ID, "as_of").select(associations)
    assert len(members) > 1
    assert not a.equals(b)


def _broken(data: Path, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(data, folder)
    return folder


def test_a_contract_violation_is_reported_without_spark_traces(
    spark: Any, data: Path, tmp_path: Path
) -> None:
    folder = _broken(data, tmp_path, "bad-type")
    events = pl.read_parquet(folder / "events.parquet")
    events.with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("welfare.no_such_kind"))
        .otherwise(pl.col(s.EVENT_TYPE))
        .alias(s.EVENT_TYPE)
    ).write_parquet(folder / "events.parquet")
    out = tmp_path / "out"
    with pytest.raises(SparkJobError) as raised:
        build_features_spark(
            spark, str(folder), str(out), load_feature_config(None), load_policy(None),
            DATES, Deployment(), 2,
        )  # fmt: skip
    message = str(raised.value)
    assert "column event_type: rule event_type.known" in message, message
    assert "1 row(s)" in message
    assert "welfare.no_such_kind" not in message  # Spark logs it: rules and counts, no values
    assert "Traceback" not in message
    assert "org.apache.spark" not in message
    assert not (out / SIDECAR).exists()  # no table is complete without its sidecar


def test_ids_repeated_across_partitions_are_refused(spark: Any, data: Path, tmp_path: Path) -> None:
    """A partition sees only its own rows: uniqueness is checked over the whole export."""
    folder = _broken(data, tmp_path, "repeated")
    children = pl.read_parquet(folder / "children.parquet")
    twin = children.head(1).with_columns(pl.lit("another-household").alias(s.HOUSEHOLD_ID))
    pl.concat([children, twin]).write_parquet(folder / "children.parquet")
    with pytest.raises(SparkJobError, match=r"child_id\.unique"):
        build_features_spark(
            spark, str(folder), str(tmp_path / "out"), load_feature_config(None),
            load_policy(None), DATES, Deployment(), 2,
        )  # fmt: skip


def test_the_cli_builds_on_spark_and_refuses_to_replace_a_table(
    data: Path, tmp_path: Path, spark: Any
) -> None:
    out = tmp_path / "features"
    args = [
        *("features", "build", "--data", str(data), "--out", str(out)),
        *("--as-of", "2024-06-01", "--engine", "spark", "--partitions", "2"),
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "Parquet partitioned by as_of" in done.stdout
    assert "2 Spark partitions" in done.stdout
    part = next(out.glob("as_of=*/*.parquet"))
    assert part.stat().st_mode & 0o077 == 0  # child-level data: its owner's only
    assert (out / SIDECAR).stat().st_mode & 0o077 == 0
    before = sorted(p.name for p in out.rglob("*"))
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing replaced


def test_a_folder_without_parquet_files_is_named(spark: Any, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "children.csv").write_text("child_id\n", encoding="utf-8")
    with pytest.raises(SparkJobError, match=r"children: cannot read .*children\.parquet"):
        build_features_spark(
            spark, str(folder), str(tmp_path / "out"), load_feature_config(None),
            load_policy(None), DATES, Deployment(), 2,
        )  # fmt: skip


def test_export_json_is_read_through_spark(spark: Any, data: Path, tmp_path: Path) -> None:
    folder = _broken(data, tmp_path, "bad-export")
    (folder / s.EXPORT_FILE).write_text(json.dumps({"exported_at": "soon"}), encoding="utf-8")
    with pytest.raises(SparkJobError, match=r"export\.json: exported_at 'soon' is not"):
        build_features_spark(
            spark, str(folder), str(tmp_path / "out"), load_feature_config(None),
            load_policy(None), DATES, Deployment(), 2,
        )  # fmt: skip
