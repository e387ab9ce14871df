"""Each kind of identity noise linked or refused as it should be, on a hand-built family.

The model is the one trained on the synthetic sources (``linked``'s model.json), so
these cases test the comparisons, the hard rules and the clustering, not a model fitted
to them. The family: twins 张子涵 and 张子轩 (same birth date, guardian, phone and
address), a brother 张伟 and a cousin 张伟 in the same household (same name, other
birth dates), and a nameless, dateless hotline report about one of the children.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from features.linkage import schema as ls
from features.linkage.output import MODEL_FILE
from features.linkage.standardise import make_id_number
from tests.features.linkage.linking import link

GUARDIAN_ID = make_id_number("110105", date(1985, 1, 1), 7, "M")
ZIHAN_ID = make_id_number("110105", date(2015, 3, 5), 11, "F")
ZIXUAN_ID = make_id_number("110105", date(2015, 3, 5), 12, "M")
WEI_ID = make_id_number("110105", date(2010, 1, 1), 3, "M")
FAMILY = {
    "district": "Chaoyang",
    "address": "朝阳区望京街道花家地社区3号楼",
    "hukou": "local",
    "ethnicity": "han",
    "guardian_name": "张建国",
    "guardian_id_number": GUARDIAN_ID,
    "guardian_phone": "13800138000",
    "family_ref": None,
}
MISTYPED = ZIHAN_ID[:5] + str((int(ZIHAN_ID[5]) + 1) % 10) + ZIHAN_ID[6:]

# (source, record_id, name, id_number, birth_date, sex) -> the child it must end in
RECORDS = [
    ("health", "H1", "张子涵", ZIHAN_ID, "2015-03-05", "F", "zihan"),
    ("welfare", "W1", "張子涵", None, "2015-05-03", "F", "zihan"),  # traditional, swapped
    ("education", "E1", "张 子涵", MISTYPED, "2015-03-06", "F", "zihan"),  # spaces, digit, +1 day
    ("community", "C1", "小涵", None, "2015-03", "F", "zihan"),  # nickname, year-month
    ("police", "P1", "张子函", None, "2015-03-05", "U", "zihan"),  # homophone, sex unknown
    ("health", "H2", "张子轩", ZIXUAN_ID, "2015-03-05", "M", "zixuan"),  # the twin
    ("education", "E2", "张子轩", None, "2015-03-05", "M", "zixuan"),
    ("health", "H3", "张伟", WEI_ID, "2010-01-01", "M", "wei"),
    ("education", "E3", "张伟", GUARDIAN_ID, "2010-01-01", "M", "wei"),  # guardian's number
    ("health", "H4", "张伟", None, "2013-06-01", "M", "cousin"),  # same name, other year
    ("community", "C4", "张伟", None, "2013", "M", "cousin"),
    ("reports", "R1", None, None, None, "U", "report"),  # nameless, dateless
]


def _write(folder: Path) -> None:
    rows = pl.DataFrame(
        [
            {
                "source": src,
                "record_id": rid,
                "name": name,
                "id_number": idn,
                "birth_date": birth,
                "sex": sex,
                **FAMILY,
            }
            for src, rid, name, idn, birth, sex, _ in RECORDS
        ]
    )
    for (source,), persons in rows.group_by("source"):
        (folder / str(source)).mkdir(parents=True)
        persons.drop("source").select(ls.PERSONS_COLUMNS).write_csv(
            folder / str(source) / "persons.csv"
        )
        prefix = ls.KNOWN_SOURCES[str(source)]
        kind = {"report": "report.concern", "education": "education.enrolled"}.get(
            prefix, f"{prefix}.visit" if prefix == "health" else None
        )
        events = persons.select(
            pl.concat_str(pl.lit("ev-"), "record_id").alias("event_id"),
            "record_id",
            pl.lit(kind or _first_kind(prefix)).alias("event_type"),
            pl.lit("2024-01-10T09:00:00").alias("occurred_at"),
            pl.lit("2024-01-11T09:00:00").alias("recorded_at"),
            pl.lit(None, pl.Int64).alias("severity"),
            pl.lit(None, pl.Float64).alias("amount"),
            pl.lit(None, pl.String).alias("detail"),
        )
        events.write_csv(folder / str(source) / "events.csv")
    (folder / "export.json").write_text(json.dumps({"exported_at": "2025-01-01T00:00:00"}))


def _first_kind(prefix: str) -> str:
    return {
        "welfare": "welfare.case_opened",
        "community": "community.left_behind_registered",
        "police": "police.found",
    }[prefix]


@pytest.fixture(scope="module")
def family(linked: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("family")
    _write(base / "sources")
    model = json.loads((linked / MODEL_FILE).read_text())
    out = link(base / "sources", base / "out", model=model)
    links = pl.read_parquet(out / ls.LINKS_FILE)
    return dict(links.select(pl.col(ls.RECORD_ID), pl.col("child_id")).iter_rows())


def _children_of(family: dict[str, str], who: str) -> set[str]:
    return {family[rid] for _, rid, *_, person in RECORDS if person == who}


@pytest.mark.parametrize("record", ["W1", "E1", "C1", "P1"])
def test_noisy_records_of_a_child_join_her(family: dict[str, str], record: str) -> None:
    assert family[record] == family["H1"]


def test_twins_are_never_merged(family: dict[str, str]) -> None:
    assert _children_of(family, "zixuan") == {family["H2"]}
    assert family["H2"] != family["H1"]


def test_a_guardians_number_in_the_childs_field_does_not_decide(family: dict[str, str]) -> None:
    assert family["E3"] == family["H3"]


def test_same_name_cousins_born_years_apart_stay_apart(family: dict[str, str]) -> None:
    assert _children_of(family, "cousin") == {family["H4"]}
    assert family["H4"] != family["H3"]


def test_a_nameless_report_about_a_family_of_several_joins_none(family: dict[str, str]) -> None:
    assert family["R1"] not in {family[r] for r in ("H1", "H2", "H3", "H4")}
