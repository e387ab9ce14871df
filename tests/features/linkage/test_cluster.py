"""The clustering: strongest link first, no chain across a hard rule, decisions kept."""

from __future__ import annotations

import polars as pl

from features.linkage import records as r
from features.linkage.cluster import cluster_records, record_profiles
from features.linkage.policy import LinkagePolicy

# twin A, twin B (same birth date, other given names), a record of A with a nickname,
# and a nameless, dateless report about the family
RECORDS = pl.DataFrame(
    {
        r.UID: [0, 1, 2, 3],
        r.GIVEN_PINYIN: ["zihan", "zixuan", "han", None],
        r.LAST_PINYIN: ["han", "xuan", "han", None],
        r.NICKNAME: [False, False, True, False],
        r.BIRTH_YEAR: [2015, 2015, 2015, None],
        r.BIRTH_MONTH: [3, 3, 3, None],
        r.BIRTH_DAY: [5, 5, 5, None],
        r.BIRTH_DAYNO: [16499, 16499, 16499, None],
        r.ID: [None, None, None, None],
        r.ID_USABLE: [False, False, False, False],
    },
    schema_overrides={r.ID: pl.String, r.BIRTH_YEAR: pl.Int32, r.BIRTH_DAYNO: pl.Int32},
)


def _edges(rows: list[tuple[int, int, float, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["uid_l", "uid_r", "match_probability", "how"], orient="row")


def _cluster(edges: pl.DataFrame, **policy: object) -> dict[int, int]:
    out = cluster_records(
        RECORDS,
        record_profiles(RECORDS),
        edges,
        LinkagePolicy(**policy),  # type: ignore[arg-type]
    )
    return dict(out.select(r.UID, "cluster").iter_rows())


def test_a_chain_through_a_nameless_record_never_joins_twins() -> None:
    edges = _edges([(0, 3, 0.9995, "match"), (1, 3, 0.9990, "match"), (0, 2, 0.999, "match")])
    clusters = _cluster(edges)
    assert clusters[0] == clusters[2]
    assert clusters[1] != clusters[0]
    # the report matches both twins: it is evidence for neither, and waits for a person
    assert clusters[3] == 3


def test_a_record_known_well_joins_the_strongest_of_two_children() -> None:
    # the nickname record with a full birth date is not ambiguous by the rules' lights:
    # it agrees with twin A only (its last character), so it joins A whatever B's link
    edges = _edges([(1, 2, 0.9999, "match"), (0, 2, 0.9990, "match")])
    clusters = _cluster(edges)
    assert clusters[2] == clusters[0] != clusters[1]


def test_the_rule_off_lets_the_chain_through() -> None:
    edges = _edges([(0, 3, 0.9995, "match"), (1, 3, 0.9990, "match")])
    clusters = _cluster(edges, names_must_agree=False)
    assert clusters[0] == clusters[1]


def test_a_family_edge_joins_only_a_sole_candidate() -> None:
    # the nameless report's partners lie in two children: it stays alone
    two = _cluster(_edges([(0, 3, 0.9999, "family"), (1, 3, 0.9999, "family")]))
    assert two[3] == 3
    # in one child: it joins that child, and is marked family_only
    out = cluster_records(
        RECORDS,
        record_profiles(RECORDS),
        _edges([(0, 3, 0.9999, "family"), (0, 2, 0.999, "match")]),
        LinkagePolicy(),
    )
    row = out.filter(pl.col(r.UID) == 3).row(0, named=True)
    assert row["cluster"] == 0
    assert row["how"] == "match"
    assert row["family_only"]


def test_a_decision_beats_the_model_both_ways() -> None:
    edges = _edges([(0, 2, 0.999, "match"), (0, 1, 1.0, "review")])
    apart = pl.DataFrame({"uid_l": [0], "uid_r": [2]})
    out = cluster_records(RECORDS, record_profiles(RECORDS), edges, LinkagePolicy(), apart)
    clusters = dict(out.select(r.UID, "cluster").iter_rows())
    assert clusters[0] == clusters[1]  # a person said the same child: joined, rules or not
    assert clusters[2] != clusters[0]  # a person said different: never joined
    assert dict(out.select(r.UID, "how").iter_rows())[1] == "review"


def test_sole_candidates_joined_one_after_another_follow_the_moving_roots() -> None:
    # report 3's only partner is record 2, whose only partner is child A (records 0 and 4):
    # 2 joins A first, and A's root is no longer 2's; 3 must follow it into A
    second_of_a = RECORDS.filter(pl.col(r.UID) == 0).with_columns(pl.lit(4, pl.Int64).alias(r.UID))
    records = pl.concat([RECORDS, second_of_a])
    edges = _edges([(0, 4, 0.9999, "match"), (0, 2, 0.9999, "family"), (2, 3, 0.9999, "family")])
    out = cluster_records(records, record_profiles(records), edges, LinkagePolicy())
    clusters = dict(out.select(r.UID, "cluster").iter_rows())
    assert clusters[0] == clusters[4] == clusters[2] == clusters[3]
