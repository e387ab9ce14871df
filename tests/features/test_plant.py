"""Planted input problems (features.synth.plant, `riskflag plant`): the copy differs
from its folder only in the week and the source named, is still a valid contract
folder, and is written whole or not at all."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from features import schema as s
from features.contract import validate_folder
from features.deployment import load_deployment
from features.synth import SynthConfig, generate
from features.synth.plant import COPY_SUFFIX, Problem, in_week
from serving.cli import app

DAY = date(2025, 9, 1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = tmp_path_factory.mktemp("plant") / "data"
    generate(SynthConfig(children=800, seed=11, workers=1), made)
    return made


def _plant(folder: Path, out: Path, problem: Problem, source: str = "health") -> str:
    done = CliRunner().invoke(
        app,
        ["plant", str(folder), "--out", str(out), "--problem", problem.value,
         "--source", source, "--as-of", DAY.isoformat()],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return done.output


def test_a_doubled_feed_copies_the_week_of_one_source(folder: Path, tmp_path: Path) -> None:
    events = pl.read_parquet(folder / "events.parquet")
    week = events.filter(in_week("health", DAY))
    assert week.height > 0
    said = _plant(folder, tmp_path / "doubled", Problem.DOUBLED)
    assert f"{events.height + week.height:,} after" in said
    planted = pl.read_parquet(tmp_path / "doubled" / "events.parquet")
    copies = planted.filter(pl.col(s.EVENT_ID).str.ends_with(COPY_SUFFIX))
    assert copies.drop(s.EVENT_ID).equals(week.drop(s.EVENT_ID))
    assert planted.filter(~pl.col(s.EVENT_ID).str.ends_with(COPY_SUFFIX)).equals(events)
    assert validate_folder(tmp_path / "doubled", load_deployment(None)).ok


def test_a_silent_source_loses_only_its_week(folder: Path, tmp_path: Path) -> None:
    events = pl.read_parquet(folder / "events.parquet")
    _plant(folder, tmp_path / "silent", Problem.SILENT)
    planted = pl.read_parquet(tmp_path / "silent" / "events.parquet")
    assert planted.equals(events.filter(~in_week("health", DAY)))


def test_a_folder_that_is_not_empty_is_refused_and_kept(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", "utf-8")
    done = CliRunner().invoke(
        app,
        ["plant", str(folder), "--out", str(out), "--problem", "late", "--source", "welfare",
         "--as-of", DAY.isoformat()],
    )  # fmt: skip
    assert done.exit_code != 0
    assert "not empty" in done.output
    assert (out / "mine.txt").read_text("utf-8") == "keep me"
