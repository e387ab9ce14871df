"""Batch scoring on Spark gives the single-machine scores, top factors and records."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from features import schema as s
from features.contract import load_case_histories
from features.deployment import Deployment
from features.spark_run import SparkJobError
from features.table import read_metadata, read_table
from models.batch import score_batch
from models.flagging import FlaggingPolicy, load_flagging_policy
from models.registry import RegistryError, load_payload, use_tracking, version_payload
from models.spark import score_spark
from serving.cli import app
from tests.serving.conftest import Trained

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

AS_OF = date(2025, 6, 1)


def _single_machine(trained: Trained, policy: FlaggingPolicy) -> pl.DataFrame:
    use_tracking(trained.tracking_uri)
    model = load_payload(*version_payload(trained.version))
    return score_batch(load_case_histories(trained.data), model, policy, AS_OF)


def test_the_cli_scores_on_spark_as_on_one_machine(
    trained: Trained, spark: Any, tmp_path: Path
) -> None:
    common = [
        *("score", "--data", str(trained.data), "--as-of", AS_OF.isoformat()),
        *("--tracking-uri", trained.tracking_uri),
    ]
    one = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "one.parquet")])
    assert one.exit_code == 0, one.output
    args = [*common, "--out", str(tmp_path / "spark"), "--engine", "spark", "--partitions", "4"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    expected = pl.read_parquet(tmp_path / "one.parquet").sort(s.CHILD_ID)
    got = read_table(tmp_path / "spark").collect().sort(s.CHILD_ID)
    assert got.schema == expected.schema
    assert got.equals(expected)  # scores, tiers, flags, top factors, their records
    assert expected["flagged"].sum() > 0
    records = [f"factor_{i}_event_ids" for i in range(1, 6)]
    assert expected.select(pl.sum_horizontal(pl.col(records).list.len()).sum()).item() > 0
    # four partitions, two Python workers: the model was loaded by each worker once
    assert "4 partitions" in done.stdout
    loads = done.stdout.split("the model loaded ")[1].split(",")[0]
    assert loads in ("once", "2 times")
    meta = read_metadata(tmp_path / "spark")
    assert meta["kind"] == "scores"
    assert meta["model"]["family"] == "scorecard"


def test_flags_over_the_whole_batch_with_a_top_percent_capacity(
    trained: Trained, spark: Any, tmp_path: Path
) -> None:
    """Flagging ranks across partitions (the whole batch), never within one."""
    policy = dataclasses.replace(
        load_flagging_policy(None), capacity="top_percent", top_percent=3.0, flag_from="moderate"
    )
    expected = _single_machine(trained, policy).sort(s.CHILD_ID)
    payload, sha256 = version_payload(trained.version)
    scored = score_spark(
        spark, str(trained.data), str(tmp_path / "top"), payload, sha256, policy, AS_OF,
        Deployment(), partitions=5,
    )  # fmt: skip
    got = read_table(tmp_path / "top").collect().sort(s.CHILD_ID)
    assert got.equals(expected)
    assert scored.flagged == expected["flagged"].sum() == int(expected.height * 3 / 100)
    assert scored.model_loads <= 2  # 5 partitions on 2 workers, the model loaded per worker


def test_an_altered_model_is_refused_before_any_spark_work(
    trained: Trained, spark: Any, tmp_path: Path
) -> None:
    use_tracking(trained.tracking_uri)
    payload, sha256 = version_payload(trained.version)
    with pytest.raises(RegistryError, match="altered"):
        score_spark(
            spark, str(trained.data), str(tmp_path / "out"), payload + b"x", sha256,
            load_flagging_policy(None), AS_OF, Deployment(),
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_an_as_of_date_after_the_export_is_refused(
    trained: Trained, spark: Any, tmp_path: Path
) -> None:
    use_tracking(trained.tracking_uri)
    payload, sha256 = version_payload(trained.version)
    with pytest.raises(SparkJobError, match="after the export"):
        score_spark(
            spark, str(trained.data), str(tmp_path / "out"), payload, sha256,
            load_flagging_policy(None), date(2030, 1, 1), Deployment(),
        )  # fmt: skip
