"""Household control (issue 21, point 8): a member marked as not living with a child, or
not in contact, stops counting for that child from the marking's date, exactly as if
the member lived in another household; nothing else changes. The batch, a request's
household and the evidence agree."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from features import schema as s
from features import separations as fs
from features.build import build_features
from features.config import Policy, load_feature_config
from features.evidence import evidence_table
from features.household import Household, household_features
from features.plan import compile_plan
from tests.features.reference import Event
from tests.features.test_build_reference import as_histories, histories

GRID = [date(2019, 6, 1), date(2021, 1, 1), date(2022, 7, 15), date(2024, 3, 1)]
POLICY = Policy(association=True)


def _markings(rows: list[tuple[str, str, str, date]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"id": i + 1, "child_id": c, "member_id": m, "kind": k, "since": d}
            for i, (c, m, k, d) in enumerate(rows)
        ],
        schema=fs.SCHEMA,
    )


def _moved(children: list[dict[str, Any]], member: str) -> list[dict[str, Any]]:
    """The children with ``member`` living in a household of their own."""
    return [
        {**c, s.HOUSEHOLD_ID: f"elsewhere:{member}"} if c[s.CHILD_ID] == member else c
        for c in children
    ]


def _rows(table: pl.DataFrame, child: str) -> dict[date, dict[str, Any]]:
    return {r["as_of"]: r for r in table.filter(pl.col(s.CHILD_ID) == child).iter_rows(named=True)}


def _pair(children: list[dict[str, Any]]) -> tuple[str, str] | None:
    for child in children:
        for member in children:
            same = child[s.HOUSEHOLD_ID] is not None
            same = same and child[s.HOUSEHOLD_ID] == member[s.HOUSEHOLD_ID]
            if same and child is not member:
                return child[s.CHILD_ID], member[s.CHILD_ID]
    return None


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=histories(),
    since=st.sampled_from(GRID[1:]),
    kind=st.sampled_from(fs.SEPARATING),
    resumed=st.booleans(),
)
def test_a_separated_member_counts_as_living_elsewhere_from_its_date(
    data: tuple[list[dict[str, Any]], list[Event]], since: date, kind: str, resumed: bool
) -> None:
    children, events = data
    pair = _pair(children)
    assume(pair is not None)
    assert pair is not None
    child, member = pair
    marked = [(child, member, kind, since)]
    if resumed:
        marked.append((child, member, "resumed", GRID[-1]))
    config = load_feature_config()
    plain = as_histories(children, events)
    separated = dataclasses.replace(plain, separations=_markings(marked))
    elsewhere = as_histories(_moved(children, member), events)
    table = build_features(separated, config, POLICY, GRID).frame.collect()
    before = build_features(plain, config, POLICY, GRID).frame.collect()
    after = build_features(elsewhere, config, POLICY, GRID).frame.collect()
    apart_on = {d for d in GRID if d >= since and not (resumed and d >= GRID[-1])}
    mine, old, new = _rows(table, child), _rows(before, child), _rows(after, child)
    for day, row in mine.items():
        assert row == (new if day in apart_on else old)[day], day
    others = table.filter(pl.col(s.CHILD_ID) != child)
    assert others.equals(before.filter(pl.col(s.CHILD_ID) != child))

    plan = compile_plan(config, POLICY)
    for day in mine:
        wanted = {child: [spec for spec in plan.registry.specs if spec.kind == "household"]}
        records = evidence_table(separated, POLICY, wanted, day)
        expected = evidence_table(elsewhere if day in apart_on else plain, POLICY, wanted, day)
        assert records[s.EVENT_ID].to_list() == expected[s.EVENT_ID].to_list(), day
        # a request's household, the markings with it, gives the batch's values and records
        household = Household(
            plain.children.collect(),
            plain.events.collect(),
            plain.deployment,
            separated.separations,
        )
        found = household_features(plan, household, day)
        at = found.row_of(child)
        assert at is not None
        for spec in plan.registry.specs:
            assert found.value(spec.name, at) == mine[day][spec.name], (day, spec.name)
        for spec in wanted[child]:
            behind = records.filter(pl.col("feature") == spec.name)[s.EVENT_ID].to_list()
            assert list(found.records(child, spec)) == behind


def test_markings_of_strangers_and_of_another_household_change_nothing() -> None:
    children = [
        {"child_id": f"K{i}", "birth_date": date(2012, 1, 1), "sex": "F",
         "district": "Haidian", "hukou": "local", "ethnicity": "han", "household_id": h}
        for i, h in enumerate(["H1", "H1", "H2"])
    ]  # fmt: skip
    events = [
        Event(f"E{i}", f"K{i % 3}", "report.concern", datetime(2020, 1, 1 + i),
              datetime(2020, 1, 2 + i), 2, None, "school")
        for i in range(6)
    ]  # fmt: skip
    plain = as_histories(children, events)
    config = load_feature_config()
    before = build_features(plain, config, POLICY, GRID).frame.collect()
    strangers = _markings(
        [
            ("K0", "K2", "not_living_with", GRID[0]),  # another household
            ("K0", "NOBODY", "no_contact", GRID[0]),  # not a child of the store
            ("K0", "K0", "no_contact", GRID[0]),  # the child itself
        ]
    )
    table = build_features(
        dataclasses.replace(plain, separations=strangers), config, POLICY, GRID
    ).frame.collect()
    assert table.equals(before)
    # and the same marking of a real sibling does change the child's association values
    sibling = _markings([("K0", "K1", "not_living_with", GRID[0])])
    changed = build_features(
        dataclasses.replace(plain, separations=sibling), config, POLICY, GRID
    ).frame.collect()
    column = next(c for c in changed.columns if c.startswith("household__report_concern"))
    k0 = pl.col(s.CHILD_ID) == "K0"
    assert changed.filter(k0)[column].sum() < before.filter(k0)[column].sum()
    assert changed.filter(~k0).equals(before.filter(~k0))


def test_the_digest_is_order_free_and_sees_every_marking() -> None:
    a = _markings([("K0", "K1", "no_contact", GRID[0]), ("K1", "K0", "resumed", GRID[1])])
    assert fs.digest(a) == fs.digest(a.reverse())
    assert fs.digest(a) != fs.digest(a.head(1))


def test_a_bad_markings_file_is_refused_naming_the_row(tmp_path: Path) -> None:
    good = _markings([("K0", "K1", "no_contact", GRID[0])])
    path = tmp_path / "separations.csv"
    good.write_csv(path)
    assert fs.read_file(path).equals(good)
    good.with_columns(pl.lit("gone").alias("kind")).write_csv(path)
    with pytest.raises(fs.SeparationError, match="row id 1"):
        fs.read_file(path)
    with pytest.raises(fs.SeparationError, match="not a household markings file"):
        fs.read_file(tmp_path / "missing.csv")
