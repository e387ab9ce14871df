"""`riskflag synth --sources`, then `riskflag link`, then `riskflag validate`: the flow a
fresh clone runs; and the command's refusals, each one line naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from features.deployment import AREAS, Deployment
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
    _counted_by_group(out, summary)
    # the next week's run keeps every id
    again = runner.invoke(
        app, ["link", str(sources), "--out", str(tmp_path / "again"), "--previous", str(out)]
    )
    assert again.exit_code == 0, again.output
    first, second = (pl.read_parquet(d / ls.LINKS_FILE) for d in (out, tmp_path / "again"))
    assert first.select("child_id").equals(second.select("child_id"))


def _counted_by_group(out: Path, summary: dict[str, object]) -> None:
    """Every record is counted once per grouping, under its child's hukou and area."""
    counts = json.loads((out / ls.LINKAGE_FILE).read_text())["counts"]
    for group in ("hukou", "area"):
        by_group = counts[f"records_by_how_by_{group}"]
        for how, n in counts["records_by_how"].items():
            assert sum(by_how.get(how, 0) for by_how in by_group.values()) == n
    assert set(counts["records_by_how_by_area"]) <= {*AREAS, "unknown"}
    # the kept children's records, grouped from the output's own tables
    links = pl.read_parquet(out / ls.LINKS_FILE).join(
        pl.read_parquet(out / "children.parquet"), on="child_id"
    )
    areas = links.with_columns(
        pl.col("district").replace_strict(dict(Deployment().districts)).alias("area")
    )
    for group, frame in (("hukou", links), ("area", areas)):
        kept = frame.group_by(pl.col(group).cast(pl.String), ls.HOW).len().iter_rows()
        for value, how, n in kept:  # held-back children's records are counted as well
            assert counts[f"records_by_how_by_{group}"][value][how] >= n
        shares = summary[f"share_by_how_by_{group}"]
        assert isinstance(shares, dict)
        for by_how in shares.values():
            assert list(by_how) == list(ls.HOW_VALUES)
            assert abs(sum(by_how.values()) - 1) < 1e-3


def test_the_summary_of_an_older_linkage_omits_the_groups(tmp_path: Path) -> None:
    counts = {"records": 10, "children": 4, "held_back_children": 1, "review_pairs": 2,
              "records_by_how": {"id_number": 6, "match": 3, "single": 1}}  # fmt: skip
    manifest = {"policy_sha256": "ab" * 32, "counts": counts}
    (tmp_path / ls.LINKAGE_FILE).write_text(json.dumps(manifest))
    older = linkage_summary(tmp_path)
    assert older is not None
    assert older["share_by_how"] == {"id_number": 0.6, "match": 0.3, "single": 0.1}
    assert not [key for key in older if key.startswith("share_by_how_by_")]
    counts["records_by_how_by_hukou"] = {"local": {"id_number": 6, "single": 1},
                                         "nonlocal": {"match": 3}}  # fmt: skip
    (tmp_path / ls.LINKAGE_FILE).write_text(json.dumps(manifest))
    newer = linkage_summary(tmp_path)
    assert newer is not None
    assert newer["share_by_how_by_hukou"] == {
        "local": {"id_number": 0.8571, "match": 0.0, "review": 0.0, "single": 0.1429},
        "nonlocal": {"id_number": 0.0, "match": 1.0, "review": 0.0, "single": 0.0},
    }
    assert "share_by_how_by_area" not in newer


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
