"""Linked loads week after week, on SQLite and PostgreSQL: a child keeps its id and its
records from one week's linkage to the next, and when a later linkage finds two
children are one, the merged child's records move to the survivor while both children's
decisions and audit trails stay (and the survivor's decisions read both)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl
import pytest
from sqlalchemy import Engine, select

from features.deployment import Deployment
from features.linkage import schema as ls
from features.linkage.ids import FROM, KIND
from features.synth import SynthConfig, generate
from features.synth.sources import write_sources
from serving.audit import Action, Someone, record
from serving.store import load_folder, make_engine
from serving.store.children import find_child, history
from serving.store.decisions import decisions, record_decision
from serving.store.tables import CHILD_CHANGES, CHILDREN, EVENTS, AuditRecord
from tests.features.linkage.linking import link

pytestmark = pytest.mark.slow

HELD_OUT: Final = ("health", 3)  # week 1 lacks the last records of this source
CASEWORKER: Final = Someone("tester", "caseworker")


@dataclass(frozen=True)
class Weeks:
    one: Path
    two: Path
    three: Path
    merged: str  # the child week 3 merges into another
    survivor: str


def _without_last(sources: Path, out: Path, source: str, count: int) -> Path:
    """A copy of ``sources`` without the last ``count`` persons of ``source`` (and their
    events): the same partners' export a week earlier."""
    shutil.copytree(sources, out)
    persons = pl.read_parquet(sources / source / "persons.parquet")
    gone = persons.tail(count)[ls.RECORD_ID]
    persons.head(persons.height - count).write_parquet(out / source / "persons.parquet")
    events = pl.read_parquet(sources / source / "events.parquet")
    events.filter(~pl.col(ls.RECORD_ID).is_in(gone.implode())).write_parquet(
        out / source / "events.parquet"
    )
    return out


def _same_child(week: Path) -> pl.DataFrame:
    """A records officer's decisions that two children of one district (each with events)
    are one: every record of each decided the same as a record of the other, so that the
    clerical links, which no hard rule refuses, hold all their records together."""
    children = pl.read_parquet(week / "children.parquet")
    with_events = pl.read_parquet(week / "events.parquet")["child_id"].unique().implode()
    district = children["district"].mode().sort()[0]
    chosen = (
        children.filter((pl.col("district") == district) & pl.col("child_id").is_in(with_events))
        .sort("child_id")["child_id"]
        .head(2)
        .to_list()
    )
    links = pl.read_parquet(week / ls.LINKS_FILE).sort(ls.SOURCE, ls.RECORD_ID)
    records = [
        links.filter(pl.col("child_id") == c).select(ls.SOURCE, ls.RECORD_ID) for c in chosen
    ]
    pairs = [
        (*record, *other.row(0))
        for mine, other in ((records[0], records[1]), (records[1], records[0]))
        for record in mine.iter_rows()
    ]
    return pl.DataFrame(
        pairs,
        schema=["source_l", "record_id_l", "source_r", "record_id_r"],
        orient="row",
    ).with_columns(pl.lit("same").alias("decision"))


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> Weeks:
    """Three weekly linkages of one sources folder: week 1 without a few records, week 2
    with them (``previous``: week 1), week 3 with a records officer's decision that two
    of week 2's children are one (``previous``: week 2)."""
    base = tmp_path_factory.mktemp("weeks")
    generate(SynthConfig(children=400, seed=31, workers=1), base / "truth")
    write_sources(base / "truth", base / "sources", seed=31)
    earlier = _without_last(base / "sources", base / "sources-1", *HELD_OUT)
    one = link(earlier, base / "week1")
    two = link(base / "sources", base / "week2", previous=one)
    decided = _same_child(two)
    decided.write_csv(base / "decisions.csv")
    three = link(base / "sources", base / "week3", previous=two, decisions=base / "decisions.csv")
    merges = pl.read_parquet(three / ls.CHANGES_FILE).filter(pl.col(KIND) == "merged")
    assert merges.height == 1, merges
    return Weeks(one, two, three, merges[FROM][0], merges["child_id"][0])


def _owners(engine: Engine) -> dict[str, str]:
    """event_id -> child_id, as the store holds them."""
    with engine.connect() as connection:
        return dict(connection.execute(select(EVENTS.c.event_id, EVENTS.c.child_id)).all())


def _week_owners(week: Path) -> dict[str, str]:
    events = pl.read_parquet(week / "events.parquet", columns=["event_id", "child_id"])
    return dict(events.iter_rows())


def test_every_child_of_last_week_keeps_its_id_and_its_records(
    store_url: str, weeks: Weeks
) -> None:
    engine = make_engine(store_url)
    try:
        assert not load_folder(engine, weeks.one, Deployment()).already_loaded
        first = _owners(engine)
        assert first == _week_owners(weeks.one)
        loaded = load_folder(engine, weeks.two, Deployment())
        assert not loaded.already_loaded
        assert loaded.inserted > 0  # the records added
        merged = dict(
            pl.read_parquet(weeks.two / ls.CHANGES_FILE)
            .filter(pl.col(KIND) == "merged")
            .select(FROM, "child_id")
            .iter_rows()
        )
        now = _owners(engine)
        with engine.connect() as connection:
            stored = set(connection.execute(select(CHILDREN.c.child_id)).scalars())
        assert set(first.values()) <= stored  # no child of week 1 is lost
        assert all(now[event] == merged.get(child, child) for event, child in first.items())
        assert set(now) >= set(_week_owners(weeks.two))
    finally:
        engine.dispose()


def test_a_merge_moves_the_records_and_keeps_both_trails(store_url: str, weeks: Weeks) -> None:
    engine = make_engine(store_url)
    try:
        for week in (weeks.one, weeks.two):
            load_folder(engine, week, Deployment())
        before = _owners(engine)
        moved = {event for event, child in before.items() if child == weeks.merged}
        assert moved, "the merged child had records"
        with engine.begin() as connection:
            for child_id in (weeks.merged, weeks.survivor):
                child = find_child(connection, child_id)
                assert child is not None
                record_decision(
                    connection, child, "tester", "caseworker", "home_visit", True, None,
                    f"visited {child_id}",
                )  # fmt: skip
                record(
                    connection, CASEWORKER, Action.READ_RISK, "allowed", child_id, child.district
                )
        load_folder(engine, weeks.three, Deployment())
        after = _owners(engine)
        assert all(after[event] == weeks.survivor for event in moved)
        with engine.connect() as connection:
            into = connection.execute(
                select(CHILDREN.c.merged_into).where(CHILDREN.c.child_id == weeks.merged)
            ).scalar_one()
            change = connection.execute(
                select(CHILD_CHANGES.c.change, CHILD_CHANGES.c.child_id).where(
                    CHILD_CHANGES.c.from_child_id == weeks.merged
                )
            ).all()
            audited = set(
                connection.execute(
                    select(AuditRecord.child_id).where(AuditRecord.user_name == "tester")
                ).scalars()
            )
            kept = decisions(connection, child_id=weeks.survivor)
            own = decisions(connection, child_id=weeks.merged)
            shown = history(connection, weeks.survivor)
        assert into == weeks.survivor
        assert [tuple(row) for row in change] == [("merged", weeks.survivor)]
        assert audited == {weeks.merged, weeks.survivor}
        assert {row["child_id"] for row in kept} == {weeks.merged, weeks.survivor}
        assert [row["child_id"] for row in own] == [weeks.merged]
        events = {event["event_id"]: event for rows in shown.values() for event in rows}
        assert moved <= set(events)
        assert all(events[event]["source"] is not None for event in moved)
    finally:
        engine.dispose()


def test_the_weekly_cycle_honours_the_officers_decisions(
    store_url: str, weeks: Weeks, tmp_path: Path
) -> None:
    """Open pairs decided in the store (one same, one different) are exported by `riskflag
    db pair-decisions`, honoured by the next `riskflag link`, and leave the queue."""
    from typer.testing import CliRunner

    from serving.cli import app
    from serving.store.review import record_pair_decision
    from serving.store.tables import LINKS, REVIEW_PAIRS

    engine = make_engine(store_url)
    try:
        load_folder(engine, weeks.two, Deployment())
        with engine.connect() as connection:
            pairs = (
                connection.execute(select(REVIEW_PAIRS).order_by(REVIEW_PAIRS.c.id).limit(2))
                .mappings()
                .all()
            )
        assert len(pairs) == 2, "week 2 has open pairs"
        keys = [
            ((p["source_l"], p["record_id_l"]), (p["source_r"], p["record_id_r"])) for p in pairs
        ]
        with engine.begin() as connection:
            for (left, right), decision in zip(keys, ("same", "different"), strict=True):
                record_pair_decision(connection, left, right, decision, "checked", "officer")
        exported = tmp_path / "decisions.csv"
        done = CliRunner().invoke(
            app, ["db", "pair-decisions", "--out", str(exported), "--url", store_url]
        )
        assert done.exit_code == 0, done.output
        sources = weeks.two.parent / "sources"
        nxt = link(sources, tmp_path / "week3", previous=weeks.two, decisions=exported)
        load_folder(engine, nxt, Deployment())
        with engine.connect() as connection:
            owner = {
                (row.source, row.record_id): row.child_id
                for row in connection.execute(
                    select(LINKS.c.source, LINKS.c.record_id, LINKS.c.child_id)
                )
            }
            still_open = {
                ((p.source_l, p.record_id_l), (p.source_r, p.record_id_r))
                for p in connection.execute(select(REVIEW_PAIRS))
            }
        (same_l, same_r), (apart_l, apart_r) = keys
        assert owner[same_l] == owner[same_r]
        assert owner[apart_l] != owner[apart_r]
        assert not {keys[0], keys[1], keys[0][::-1], keys[1][::-1]} & still_open
    finally:
        engine.dispose()
