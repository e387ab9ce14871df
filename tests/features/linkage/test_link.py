"""`link_sources` end to end on synthetic sources: a valid contract folder, quality against
the truth, siblings never merged, stable ids, decisions honoured, Spark equal to DuckDB."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import polars as pl
import pytest

from features.contract import validate_folder
from features.deployment import load_deployment
from features.linkage import schema as ls
from features.linkage.engines import LinkEngine
from features.linkage.output import MODEL_FILE
from features.linkage.policy import load_linkage_policy
from features.linkage.quality import linkage_quality
from tests.features.linkage.linking import link


def _links(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / ls.LINKS_FILE)


def test_the_output_is_a_valid_contract_folder(linked: Path) -> None:
    report = validate_folder(linked, load_deployment(None))
    assert report.ok, report.format_text()


def test_every_record_is_linked_once_with_how_and_probability(
    synthetic: tuple[Path, Path], linked: Path
) -> None:
    links = _links(linked)
    truth = pl.read_parquet(synthetic[0] / ls.TRUTH_FILE)
    assert links.height == truth.height
    assert links.select(ls.SOURCE, ls.RECORD_ID).is_duplicated().sum() == 0
    assert set(links[ls.HOW].unique()) <= set(ls.HOW_VALUES)
    single = links[ls.HOW] == ls.HOW_SINGLE
    assert links.filter(single)[ls.MATCH_PROBABILITY].null_count() == single.sum()
    assert links.filter(~single)[ls.MATCH_PROBABILITY].null_count() == 0


def test_quality_against_the_truth(synthetic: tuple[Path, Path], linked: Path) -> None:
    truth_dir = synthetic[0]
    children = pl.read_parquet(truth_dir / "children.parquet")
    report = linkage_quality(
        _links(linked),
        pl.read_parquet(truth_dir / ls.TRUTH_FILE),
        children,
        load_deployment(None),
        __import__("datetime").datetime(2025, 12, 31),
    )
    overall = report["overall"]
    assert overall["pairwise_precision"] >= 0.99, overall
    assert overall["pairwise_recall"] >= 0.95, overall


def _merged_records(truth_dir: Path, out: Path) -> pl.DataFrame:
    """Records lying in a linked child with another true child's records (the minority's)."""
    truth = pl.read_parquet(truth_dir / ls.TRUTH_FILE).rename({"child_id": "true"})
    cells = _links(out).join(truth, on=[ls.SOURCE, ls.RECORD_ID])
    sizes = cells.group_by("child_id", "true").len()
    main = sizes.sort("len", "true", descending=[True, False]).group_by("child_id").first()
    return cells.join(main.select("child_id", pl.col("true").alias("main")), on="child_id").filter(
        pl.col("true") != pl.col("main")
    )


def test_children_merge_only_by_a_family_only_link(
    synthetic: tuple[Path, Path], linked: Path
) -> None:
    """A nameless report joined to its family's one known child may be an unknown
    sibling's: that is the sole-candidate rule's bet, and each such record is marked."""
    merged = _merged_records(synthetic[0], linked)
    assert merged[ls.FAMILY_ONLY].all()


def test_without_sole_candidates_no_two_children_merge(
    synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    policy = dataclasses.replace(load_linkage_policy(), sole_candidate=False)
    out = link(synthetic[1], tmp_path / "strict", policy=policy)
    assert _merged_records(synthetic[0], out).is_empty()
    assert not _links(out)[ls.FAMILY_ONLY].any()


def test_identity_data_is_owner_readable_only_and_nowhere_else(linked: Path) -> None:
    for path in linked.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    identities = pl.read_parquet(linked / ls.IDENTITIES_FILE)
    assert {"name", "id_number", "birth_date", "sex"} <= set(identities.columns)
    tables = ("children.parquet", "events.parquet", ls.LINKS_FILE, ls.EVENT_RECORDS_FILE)
    for name in (*tables, ls.REVIEW_FILE):
        columns = set(pl.read_parquet_schema(linked / name))
        assert not columns & set(ls.IDENTITY_COLUMNS), name
    # the review queue carries the two records' values for the records officer who
    # decides, inside record_l and record_r only
    review = pl.read_parquet(linked / ls.REVIEW_FILE)
    names = set(identities["name"].drop_nulls())
    for name in tables:
        text = pl.read_parquet(linked / name).write_csv()
        assert not any(n in text for n in list(names)[:200]), name
    assert review.select("record_l").to_series().str.contains('"name"').all()
    manifest = json.loads((linked / ls.LINKAGE_FILE).read_text())
    assert manifest["policy_sha256"] == load_linkage_policy().digest


def test_a_second_run_keeps_every_child_id(
    synthetic: tuple[Path, Path], linked: Path, tmp_path: Path
) -> None:
    again = link(synthetic[1], tmp_path / "again", previous=linked)
    before, after = _links(linked), _links(again)
    joined = before.join(after, on=[ls.SOURCE, ls.RECORD_ID], suffix="_after")
    assert (joined["child_id"] == joined["child_id_after"]).all()
    assert pl.read_parquet(again / ls.CHANGES_FILE).is_empty()


def test_decisions_are_honoured(synthetic: tuple[Path, Path], linked: Path, tmp_path: Path) -> None:
    links = _links(linked)
    joined = links.filter(pl.col(ls.HOW) == ls.HOW_MATCH).head(1)
    partner = links.filter(
        (pl.col("child_id") == joined["child_id"][0])
        & (pl.col(ls.RECORD_ID) != joined[ls.RECORD_ID][0])
    ).head(1)
    apart = links.filter(pl.col("child_id") != joined["child_id"][0]).head(1)
    decisions = pl.DataFrame(
        {
            "source_l": [joined[ls.SOURCE][0], joined[ls.SOURCE][0]],
            "record_id_l": [joined[ls.RECORD_ID][0], joined[ls.RECORD_ID][0]],
            "source_r": [partner[ls.SOURCE][0], apart[ls.SOURCE][0]],
            "record_id_r": [partner[ls.RECORD_ID][0], apart[ls.RECORD_ID][0]],
            "decision": ["different", "same"],
        }
    )
    decisions.write_csv(tmp_path / "decisions.csv")
    out = link(
        synthetic[1], tmp_path / "decided", previous=linked, decisions=tmp_path / "decisions.csv"
    )
    child = dict(
        _links(out)
        .select(pl.concat_str(ls.SOURCE, ls.RECORD_ID, separator="/"), "child_id")
        .iter_rows()
    )

    def key(frame: pl.DataFrame) -> str:
        return f"{frame[ls.SOURCE][0]}/{frame[ls.RECORD_ID][0]}"

    assert child[key(joined)] != child[key(partner)]
    assert child[key(joined)] == child[key(apart)]
    assert not pl.read_parquet(out / ls.CHANGES_FILE).is_empty()


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_links_equal_duckdb_links(
    synthetic: tuple[Path, Path], linked: Path, tmp_path: Path, spark: object
) -> None:
    model = json.loads((linked / MODEL_FILE).read_text())
    duck = link(synthetic[1], tmp_path / "duck", model=model)
    on_spark = link(
        synthetic[1], tmp_path / "spark", model=model, engine=LinkEngine.spark, spark=spark
    )
    left, right = _links(duck), _links(on_spark)
    assert left.drop(ls.MATCH_PROBABILITY).equals(right.drop(ls.MATCH_PROBABILITY))
    difference = (left[ls.MATCH_PROBABILITY] - right[ls.MATCH_PROBABILITY]).abs().max()
    assert difference is None or float(difference) < 1e-9  # type: ignore[arg-type]
    review = [pl.read_parquet(out / ls.REVIEW_FILE) for out in (duck, on_spark)]
    assert review[0].height == review[1].height
