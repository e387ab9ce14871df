"""`riskflag synth --sources`, then `riskflag link`, then `riskflag validate`: the flow a
fresh clone runs; and the command's refusals, each one line naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from features.linkage import schema as ls
from features.linkage.summary import QUALITY_FILE, linkage_summary
from serving.cli import app

runner = CliRunner()


def test_synth_link_validate(tmp_path: Path) -> None:
    synth = runner.invoke(
        app,
        ["synth", "--sources", "--children", "400", "--seed", "3", "--out", str(tmp_path / "s")],
    )
    assert synth.exit_code == 0, synth.output
    sources, truth = tmp_path / "s" / "sources", tmp_path / "s" / "truth"
    assert runner.invoke(app, ["validate-sources", str(sources)]).exit_code == 0
    out = tmp_path / "linked"
    linked = runner.invoke(app, ["link", str(sources), "--out", str(out), "--truth", str(truth)])
    assert linked.exit_code == 0, linked.output
    validated = runner.invoke(app, ["validate", str(out)])
    assert validated.exit_code == 0, validated.output
    quality = json.loads((out / QUALITY_FILE).read_text())
    assert quality["overall"]["pairwise_precision"] > 0.95
    summary = linkage_summary(out)
    assert summary is not None
    assert summary["records"] == pl.read_parquet(out / ls.LINKS_FILE).height
    assert summary["quality_against_truth"] == quality["overall"]
    # the next week's run keeps every id
    again = runner.invoke(
        app, ["link", str(sources), "--out", str(tmp_path / "again"), "--previous", str(out)]
    )
    assert again.exit_code == 0, again.output
    first, second = (pl.read_parquet(d / ls.LINKS_FILE) for d in (out, tmp_path / "again"))
    assert first.select("child_id").equals(second.select("child_id"))


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    busy = runner.invoke(app, ["link", str(tmp_path), "--out", str(tmp_path / "full")])
    assert busy.exit_code == 2
    assert "exists and is not an empty folder" in busy.output
    not_linked = runner.invoke(
        app, ["link", str(tmp_path), "--out", str(tmp_path / "o"), "--previous", str(tmp_path)]
    )
    assert not_linked.exit_code == 2
    assert "not a linkage output" in not_linked.output
    policy = tmp_path / "policy.toml"
    policy.write_text("[thresholds]\nlink = 0.5\nreview = 0.9\n")
    bad = runner.invoke(
        app, ["link", str(tmp_path), "--out", str(tmp_path / "o"), "--policy", str(policy)]
    )
    assert bad.exit_code == 2
    assert "thresholds.review (0.9) is above thresholds.link (0.5)" in bad.output
    broken = runner.invoke(app, ["link", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert broken.exit_code == 1
    assert "no such folder" in broken.output
    assert not (tmp_path / "o").exists()
