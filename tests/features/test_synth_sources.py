"""`riskflag synth --sources`: source exports with identity noise, and the truth of each record."""

from __future__ import annotations

import json
import re
import stat
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import opencc
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from features import schema as s
from features.linkage import schema as ls
from features.linkage.standardise import parse_id_number, pinyin, split_name, surname_pinyin
from features.synth import SynthConfig, generate
from features.synth.cli import synth
from features.synth.generator import OutputFolderError
from features.synth.sources import SourceNoise, SourceNoiseError, write_sources
from features.synth.sources.identity import build_identities

SEED = 7
N_CHILDREN = 2000


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(truth, sources) of 2 000 children."""
    base = tmp_path_factory.mktemp("sources")
    truth, sources = base / "truth", base / "sources"
    generate(SynthConfig(children=N_CHILDREN, seed=3, workers=1), truth)
    write_sources(truth, sources, seed=SEED)
    return truth, sources


def _persons(sources: Path) -> pl.DataFrame:
    return pl.concat(
        pl.read_parquet(sources / source / "persons.parquet").with_columns(
            pl.lit(source).alias(ls.SOURCE)
        )
        for source in ls.KNOWN_SOURCES
    )


@pytest.fixture(scope="module")
def records(folders: tuple[Path, Path]) -> pl.DataFrame:
    """Every person record with its true child (children's columns prefixed true_) and noise."""
    truth, sources = folders
    children = pl.read_parquet(truth / "children.parquet")
    truth_records = pl.read_parquet(truth / ls.TRUTH_FILE)
    return (
        _persons(sources)
        .join(truth_records, on=[ls.SOURCE, ls.RECORD_ID], how="left")
        .join(
            children.select(pl.all().name.prefix("true_")),
            left_on=s.CHILD_ID,
            right_on="true_child_id",
            how="left",
        )
        .with_columns(pl.col("noise").fill_null([]))
    )


def _has(kind: str) -> pl.Expr:
    return pl.col("noise").list.contains(kind)


def _clean_names(records: pl.DataFrame) -> pl.DataFrame:
    """Per child, the name of its records without name noise (one name per child)."""
    clean = records.filter(
        ~pl.col("noise").list.eval(pl.element().str.starts_with("name_")).list.any()
    )
    per_child = clean.group_by(s.CHILD_ID).agg(pl.col(ls.NAME).unique().alias("names"))
    assert per_child["names"].list.len().max() == 1
    return per_child.select(s.CHILD_ID, pl.col("names").list.first().alias("clean_name"))


def _valid(number: str) -> bool:
    """GB 11643: well formed with the right check character."""
    parsed = parse_id_number(number)
    return parsed is not None and parsed.well_formed and parsed.check_ok


def _spoken(name: str) -> str:
    surname, given = split_name(name)
    return surname_pinyin(surname) + pinyin(given)


# ---- the folder -------------------------------------------------------------------------


def test_sources_have_exactly_the_contract_columns(folders: tuple[Path, Path]) -> None:
    truth, sources = folders
    assert sorted(p.name for p in sources.iterdir()) == sorted([*ls.KNOWN_SOURCES, "export.json"])
    for source in ls.KNOWN_SOURCES:
        persons = pl.read_parquet(sources / source / "persons.parquet")
        assert tuple(persons.columns) == ls.PERSONS_COLUMNS
        assert all(dtype == pl.String for dtype in persons.dtypes)
        events = pl.read_parquet(sources / source / "events.parquet")
        assert tuple(events.columns) == ls.SOURCE_EVENTS_COLUMNS
    assert (sources / "export.json").read_bytes() == (truth / "export.json").read_bytes()


def test_record_ids_are_unique_short_and_the_sources_own(records: pl.DataFrame) -> None:
    assert records.select(ls.SOURCE, ls.RECORD_ID).is_unique().all()
    assert records[ls.RECORD_ID].str.len_chars().is_between(1, ls.MAX_RECORD_ID_LENGTH).all()
    prefixes = records.group_by(ls.SOURCE).agg(pl.col(ls.RECORD_ID).str.slice(0, 2).unique())
    assert all(len(p) == 1 for p in prefixes[ls.RECORD_ID].to_list())


def test_every_record_is_in_the_truth_with_a_true_child(
    folders: tuple[Path, Path], records: pl.DataFrame
) -> None:
    truth, _ = folders
    truth_records = pl.read_parquet(truth / ls.TRUTH_FILE)
    assert truth_records.height == records.height
    assert records[s.CHILD_ID].null_count() == 0
    assert records["true_birth_date"].null_count() == 0  # every true child exists


def test_every_child_has_a_record_and_one_on_the_health_register(
    folders: tuple[Path, Path], records: pl.DataFrame
) -> None:
    truth, _ = folders
    children = pl.read_parquet(truth / "children.parquet")
    assert set(records[s.CHILD_ID]) == set(children[s.CHILD_ID])
    health = records.filter(pl.col(ls.SOURCE) == "health")
    assert health[s.CHILD_ID].n_unique() == children.height


def test_every_event_appears_once_in_its_source_with_its_childs_record(
    folders: tuple[Path, Path],
) -> None:
    truth, sources = folders
    truth_events = pl.read_parquet(truth / "events.parquet")
    truth_records = pl.read_parquet(truth / ls.TRUTH_FILE)
    written = pl.concat(
        pl.read_parquet(sources / source / "events.parquet").with_columns(
            pl.lit(source).alias(ls.SOURCE)
        )
        for source in ls.KNOWN_SOURCES
    )
    assert written.height == truth_events.height
    assert written[s.EVENT_ID].is_unique().all()
    joined = written.join(truth_records, on=[ls.SOURCE, ls.RECORD_ID], how="left").join(
        truth_events, on=s.EVENT_ID, how="left", suffix="_truth"
    )
    assert (joined[s.CHILD_ID] == joined["child_id_truth"]).all()
    prefix = joined[ls.SOURCE].replace_strict(ls.KNOWN_SOURCES)
    assert (joined[s.EVENT_TYPE].str.split(".").list.first() == prefix).all()
    for column in (s.EVENT_TYPE, s.OCCURRED_AT, s.RECORDED_AT, s.SEVERITY, s.AMOUNT, s.DETAIL):
        assert joined[column].equals(joined[f"{column}_truth"]), column


def test_duplicates_split_a_childs_events_between_two_records(
    folders: tuple[Path, Path], records: pl.DataFrame
) -> None:
    _, sources = folders
    duplicated = records.filter(_has("duplicate")).select(ls.SOURCE, s.CHILD_ID)
    assert duplicated.height > 50
    pairs = records.join(duplicated, on=[ls.SOURCE, s.CHILD_ID])
    assert (pairs.group_by(ls.SOURCE, s.CHILD_ID).len()["len"] == 2).all()
    counts = pl.concat(
        pl.read_parquet(sources / source / "events.parquet")
        .group_by(ls.RECORD_ID).len().with_columns(pl.lit(source).alias(ls.SOURCE))
        for source in ls.KNOWN_SOURCES
    )  # fmt: skip
    assert pairs.join(counts, on=[ls.SOURCE, ls.RECORD_ID], how="left")["len"].min() >= 1


def test_same_seed_gives_identical_files_and_another_seed_other_ones(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    truth, sources = folders
    before = (truth / ls.TRUTH_FILE).read_bytes()
    write_sources(truth, tmp_path / "again", seed=SEED)
    for path in sorted(sources.rglob("*.*")):
        assert (tmp_path / "again" / path.relative_to(sources)).read_bytes() == path.read_bytes()
    assert (truth / ls.TRUTH_FILE).read_bytes() == before
    write_sources(truth, tmp_path / "other", seed=SEED + 1)
    a = pl.read_parquet(sources / "health" / "persons.parquet")
    b = pl.read_parquet(tmp_path / "other" / "health" / "persons.parquet")
    assert not a.equals(b)
    write_sources(truth, tmp_path / "back", seed=SEED)  # leave the module's truth as it was
    assert (truth / ls.TRUTH_FILE).read_bytes() == before


def test_identity_files_are_owner_readable_only(folders: tuple[Path, Path]) -> None:
    truth, sources = folders
    for path in [truth / ls.TRUTH_FILE, *sources.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert stat.S_IMODE(sources.stat().st_mode) == 0o700


def test_a_csv_truth_gives_the_same_sources_as_parquet(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        generate(SynthConfig(children=300, seed=2, workers=1, file_format=fmt), tmp_path / fmt)
        write_sources(tmp_path / fmt, tmp_path / f"sources-{fmt}", seed=1)
    for source in ls.KNOWN_SOURCES:
        for table in ("persons.parquet", "events.parquet"):
            a = pl.read_parquet(tmp_path / "sources-csv" / source / table)
            b = pl.read_parquet(tmp_path / "sources-parquet" / source / table)
            assert a.equals(b), (source, table)


def test_an_unusable_output_folder_is_refused(folders: tuple[Path, Path], tmp_path: Path) -> None:
    truth, _ = folders
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(OutputFolderError):
        write_sources(truth, tmp_path / "full", seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


# ---- identity -------------------------------------------------------------------------


def test_children_without_hukou_never_have_an_id_number(records: pl.DataFrame) -> None:
    none = records.filter(pl.col("true_hukou") == "none")
    assert none.height > 20
    assert none[ls.ID_NUMBER].null_count() == none.height


def test_id_numbers_not_mistyped_are_valid_and_encode_the_true_birth_and_sex(
    records: pl.DataFrame,
) -> None:
    typed = records.filter(
        pl.col(ls.ID_NUMBER).is_not_null() & ~_has("id_digit") & ~_has("id_guardian")
    )
    assert typed.height > records.height / 2
    parsed = [parse_id_number(n) for n in typed[ls.ID_NUMBER].to_list()]
    assert all(p is not None and p.well_formed and p.check_ok for p in parsed)
    assert [p.birth_date for p in parsed if p] == typed["true_birth_date"].to_list()
    for p, true_sex in zip(parsed, typed["true_sex"].to_list(), strict=True):
        assert p is not None
        assert true_sex in (p.sex, "U")
    numbers = pl.Series("number", [p.normalised for p in parsed if p])
    owners = pl.DataFrame({"number": numbers, "child": typed[s.CHILD_ID]}).unique()
    assert owners["number"].is_unique().all()  # one number, one child
    assert owners["child"].is_unique().all()  # one child, one number


def test_noise_kinds_show_in_the_records_that_carry_them(records: pl.DataFrame) -> None:
    clean = records.join(_clean_names(records), on=s.CHILD_ID, how="left")
    t2s = opencc.OpenCC("t2s")
    for row in clean.filter(pl.col("clean_name").is_not_null()).iter_rows(named=True):
        name, true = row[ls.NAME], row["clean_name"]
        noise = set(row["noise"])
        if "name_traditional" in noise:
            assert t2s.convert(name) == true
        if "name_spaces" in noise:
            assert " " in name
            assert name.replace(" ", "") == true
        if "name_nickname" in noise:
            assert re.fullmatch(r"小.|(.)\1", name)
            assert name[-1] == true[-1]
        if "name_homophone" in noise:
            assert len(name) == len(true)
            assert name != true
            assert _spoken(name) == _spoken(true)
        if "name_baby_of" in noise:
            assert name.endswith(("之子", "之女"))
        if "id_digit" in noise:
            assert not _valid(row[ls.ID_NUMBER])
        if "id_full_width" in noise:
            assert re.search("[０-９]", row[ls.ID_NUMBER])
    born = records.filter(pl.col(ls.BIRTH_DATE).is_not_null())
    lengths = born.with_columns(pl.col(ls.BIRTH_DATE).str.len_chars().alias("n"))
    assert (lengths.filter(_has("birth_year"))["n"] == 4).all()
    assert (lengths.filter(_has("birth_year_month"))["n"] == 7).all()
    exact = born.filter(
        ~_has("birth_swapped")
        & ~_has("birth_off_by_one")
        & (pl.col(ls.BIRTH_DATE).str.len_chars() == 10)
    )
    assert (exact[ls.BIRTH_DATE].str.to_date() == exact["true_birth_date"]).all()
    off = born.filter(_has("birth_off_by_one"))
    gap = (off[ls.BIRTH_DATE].str.to_date() - off["true_birth_date"]).dt.total_days().abs()
    assert (gap == 1).all()
    swapped = born.filter(_has("birth_swapped"))
    assert (swapped[ls.BIRTH_DATE].str.to_date("%Y-%d-%m") == swapped["true_birth_date"]).all()


def _share(frame: pl.DataFrame, kind: str) -> float:
    return float(frame.select(_has(kind).mean()).item())


def _near(measured: float, expected: float) -> bool:
    """Within 45% of the expected rate (plus a little for small rates)."""
    return abs(measured - expected) <= 0.45 * expected + 0.004


def test_each_noise_kind_occurs_at_roughly_its_rate(records: pl.DataFrame) -> None:
    noise = SourceNoise()
    checks = {
        "name_homophone": noise.name_homophone, "name_traditional": noise.name_traditional,
        "name_nickname": noise.name_nickname, "name_spaces": noise.name_spaces,
        "birth_off_by_one": noise.birth_off_by_one, "birth_year_month": noise.birth_year_month,
        "birth_year": noise.birth_year, "sex_unknown": noise.sex_unknown,
        "hukou_unknown": noise.hukou_unknown, "ethnicity_unknown": noise.ethnicity_unknown,
        "guardian_name_missing": noise.guardian_name_missing,
        "guardian_id_missing": noise.guardian_id_missing, "phone_missing": noise.phone_missing,
        "address_missing": noise.address_missing,
    }  # fmt: skip
    not_health = records.filter(pl.col(ls.SOURCE) != "health")
    for kind, rate in checks.items():
        assert _near(_share(not_health, kind), rate), (kind, _share(not_health, kind), rate)
    for source in ("reports", "welfare", "health"):
        mine = records.filter(pl.col(ls.SOURCE) == source)
        expected = noise.of_source("name_missing", source)
        assert _near(_share(mine, "name_missing"), expected), source
        expected = noise.of_source("birth_missing", source)
        assert _near(_share(mine, "birth_missing"), expected), source
    with_id = records.filter(pl.col("true_hukou") != "none")
    typed = with_id.filter(~_has("id_missing"))
    for kind, rate in (("id_digit", noise.id_digit), ("id_guardian", noise.id_guardian),
                       ("id_full_width", noise.id_full_width)):  # fmt: skip
        assert _near(_share(typed, kind), rate), kind
    day = records["true_birth_date"].dt.day()
    swappable = records.filter((day <= 12) & (day != records["true_birth_date"].dt.month()))
    assert _near(_share(swappable, "birth_swapped"), noise.birth_swapped)
    nonlocal_ = records.filter(pl.col("true_hukou") == "nonlocal")
    assert _near(_share(nonlocal_, "elsewhere"), noise.elsewhere)


def test_id_numbers_are_missing_more_often_on_the_hotline_for_infants_and_migrants(
    records: pl.DataFrame,
) -> None:
    with_id = records.filter(pl.col("true_hukou") != "none")
    by_source = {
        source: _share(with_id.filter(pl.col(ls.SOURCE) == source), "id_missing")
        for source in ("reports", "social_aid", "education")
    }
    assert by_source["reports"] > 0.6
    assert by_source["social_aid"] < 0.2
    local = with_id.filter(pl.col("true_hukou") == "local")
    nonlocal_ = with_id.filter(pl.col("true_hukou") == "nonlocal")
    assert _share(nonlocal_, "id_missing") > _share(local, "id_missing") + 0.05
    babies = records.filter(_has("name_baby_of"))
    assert babies.height > 20
    assert _share(babies.filter(pl.col("true_hukou") != "none"), "id_missing") > 0.4


def test_siblings_share_a_surname_and_some_share_a_character_or_even_a_name(
    records: pl.DataFrame,
) -> None:
    names = _clean_names(records).join(
        records.select(s.CHILD_ID, "true_household_id", "true_birth_date").unique(), on=s.CHILD_ID
    )
    siblings = names.filter(pl.col("true_household_id").is_not_null()).filter(
        pl.len().over("true_household_id") >= 2
    )
    one = siblings.group_by("true_household_id").agg(
        pl.col("clean_name").str.slice(0, 1).n_unique().alias("surnames"),
        pl.col("clean_name").n_unique().alias("names"),
        pl.len().alias("children"),
        pl.col("true_birth_date").n_unique().alias("births"),
        pl.col("clean_name").str.slice(1, 1).n_unique().alias("firsts"),
    )
    assert (one["surnames"] == 1).mean() > 0.98  # a missing-name record may hide a sibling
    assert (
        one.filter(
            (pl.col("names") < pl.col("children")) & (pl.col("births") == pl.col("children"))
        ).height
        >= 1
    )
    assert (one["firsts"] < one["children"]).mean() > 0.25


def test_twins_get_different_names_that_often_share_a_character() -> None:
    n = 400
    birth = [date(2015, 1, 1) + timedelta(days=3 * (i // 2)) for i in range(n)]
    children = pl.DataFrame(
        {
            s.CHILD_ID: [f"C{i:04d}" for i in range(n)],
            s.BIRTH_DATE: birth,
            s.SEX: ["F", "M"] * (n // 2),
            s.DISTRICT: ["Chaoyang"] * n,
            s.HUKOU: ["local"] * n,
            s.ETHNICITY: ["han"] * n,
            s.HOUSEHOLD_ID: [f"H{i // 2:04d}" for i in range(n)],
        }
    )
    ident = build_identities(children, np.random.default_rng(1), SourceNoise())
    given = ident.given.reshape(-1, 2, 2)
    assert not (given[:, 0] == given[:, 1]).all(axis=1).any()  # twins' names always differ
    shared = (given[:, 0, 0] == given[:, 1, 0]) & (given[:, 0, 0] >= 0)
    assert shared.mean() > 0.6
    assert (ident.surname[0::2] == ident.surname[1::2]).all()
    assert ident.id_number.is_unique().all()


def test_bad_rates_are_refused() -> None:
    with pytest.raises(SourceNoiseError, match="name_homophone"):
        SourceNoise(name_homophone=1.5)
    with pytest.raises(SourceNoiseError, match="unknown source"):
        SourceNoise(id_missing={"schools": 0.1})


# ---- the command ------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("synth")(synth)
    return app


def test_cli_sources_writes_the_truth_and_the_sources(tmp_path: Path) -> None:
    args = ["--children", "300", "--seed", "4"]
    result = CliRunner().invoke(_app(), [*args, "--out", str(tmp_path / "both"), "--sources"])
    assert result.exit_code == 0, result.output
    assert "children: 300" in result.output
    assert "person records:" in result.output
    assert str(tmp_path / "both" / "sources") in result.output
    plain = CliRunner().invoke(_app(), [*args, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    assert "person records" not in plain.output
    for name in ("children.parquet", "events.parquet", "oracle.parquet", "export.json"):
        truth = (tmp_path / "both" / "truth" / name).read_bytes()
        assert truth == (tmp_path / "plain" / name).read_bytes(), name
    meta = json.loads((tmp_path / "both" / "truth" / "synth.json").read_text())
    assert meta["seed"] == 4
    assert (tmp_path / "both" / "truth" / ls.TRUTH_FILE).is_file()
    assert (tmp_path / "both" / "sources" / "health" / "persons.parquet").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both", "plain"]


def test_cli_sources_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("x")
    result = CliRunner().invoke(
        _app(), ["--children", "10", "--seed", "1", "--out", str(out), "--sources"]
    )
    assert result.exit_code == 2
    assert "exists and is not an empty folder" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
