"""The assignments table and its store functions, on SQLite and PostgreSQL: the latest
row is the current assignment, unassigning is a row, whom a district's children may be
assigned to, the counts of decisions equal to counts made directly from the table, and
the table refusing every statement form that edits or erases a row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from serving.clock import utc_now
from serving.store import make_engine
from serving.store.assignments import assign, assignees, current, eligible, tally
from serving.store.tables import ASSIGNMENTS, CHILDREN, DECISIONS
from serving.users import add_user, disable_user

OWN, OTHER = "Chaoyang", "Haidian"
ROW = "(1, 'BJ1', 'Chaoyang', 'wang', 'zhao', 'note', '2025-12-01 10:00:00')"


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    with engine.begin() as connection:
        for child, district in (("BJ1", OWN), ("BJ2", OWN), ("BJ3", OTHER)):
            connection.execute(
                insert(CHILDREN).values(
                    child_id=child,
                    birth_date=datetime(2015, 1, 1).date(),
                    sex="F",
                    district=district,
                    hukou="local",
                    ethnicity="han",
                )
            )
    yield engine
    engine.dispose()


def test_the_latest_row_is_the_assignment_and_unassigning_is_a_row(engine: Engine) -> None:
    with engine.begin() as connection:
        assign(connection, "BJ1", OWN, "wang", "zhao", "")
        assign(connection, "BJ1", OWN, "li", "zhao", "she knows the family")
        assign(connection, "BJ2", OWN, "wang", "zhao", "")
        assign(connection, "BJ2", OWN, None, "zhao", "back to the queue")
    with engine.connect() as connection:
        assert assignees(connection, ["BJ1", "BJ2", "BJ3", "nobody"]) == {"BJ1": "li"}
        assert current(connection, ["BJ1"])["BJ1"]["note"] == "she knows the family"
        assert assignees(connection, []) == {}
        stored = connection.execute(select(ASSIGNMENTS).order_by(ASSIGNMENTS.c.id)).all()
    assert [(row.child_id, row.assignee) for row in stored] == [
        ("BJ1", "wang"),
        ("BJ1", "li"),
        ("BJ2", "wang"),
        ("BJ2", None),
    ]


def test_only_active_caseworkers_and_supervisors_of_the_district_are_eligible(
    engine: Engine,
) -> None:
    add_user(engine, "wang", "caseworker", [OWN])
    add_user(engine, "zhao", "supervisor", [OWN, OTHER])
    add_user(engine, "li", "caseworker", [OTHER])
    add_user(engine, "gone", "caseworker", [OWN])
    add_user(engine, "ana", "analyst")
    add_user(engine, "rec", "records_officer", [OWN])
    disable_user(engine, "gone")
    with engine.connect() as connection:
        found = eligible(connection, [OWN, OTHER, "Nowhere"])
    assert found == {OWN: ["wang", "zhao"], OTHER: ["li", "zhao"], "Nowhere": []}


def _decide(
    connection: object,
    child: str,
    district: str,
    who: str,
    agrees: bool,
    reason: str | None,
    at: datetime,
) -> None:
    connection.execute(  # type: ignore[attr-defined]
        insert(DECISIONS).values(
            child_id=child,
            district=district,
            user_name=who,
            role="caseworker",
            action="home_visit",
            agrees=agrees,
            reason_code=reason,
            note="",
            created_at=at,
        )
    )


def test_the_counts_equal_counts_made_from_the_table(engine: Engine) -> None:
    now = utc_now()
    decided = [  # child, district, worker, agrees, reason, days ago
        ("BJ1", OWN, "wang", True, None, 1),
        ("BJ1", OWN, "wang", False, "records_outdated", 2),
        ("BJ2", OWN, "li", False, "already_served", 3),
        ("BJ2", OWN, "wang", False, "records_outdated", 5),
        ("BJ2", OWN, "li", True, None, 20),  # outside 7 days
        ("BJ3", OTHER, "zhou", False, "other", 1),  # another district
    ]
    with engine.begin() as connection:
        for child, district, who, agrees, reason, ago in decided:
            _decide(connection, child, district, who, agrees, reason, now - timedelta(days=ago))
    since = now - timedelta(days=7)
    with engine.connect() as connection:
        rows = connection.execute(select(DECISIONS)).mappings().all()
        by = {key: tally(connection, [OWN], since, key) for key in ("user_name", "reason_code")}
        districts = tally(connection, [OWN, OTHER], since, "district")
    kept = [r for r in rows if r["district"] == OWN and r["created_at"] >= since]
    for key, tallies in by.items():
        decisions = Counter(str(r[key] or "") for r in kept)
        overrides = Counter(str(r[key] or "") for r in kept if not r["agrees"])
        assert {t.key: (t.decisions, t.overrides) for t in tallies} == {
            k: (n, overrides[k]) for k, n in decisions.items()
        }
    assert {t.key: (t.decisions, t.overrides) for t in by["user_name"]} == {
        "wang": (3, 2),
        "li": (1, 1),
    }
    assert by["user_name"][0].override_rate == pytest.approx(2 / 3)
    assert {t.key: (t.decisions, t.overrides) for t in districts} == {OWN: (4, 3), OTHER: (1, 1)}
    with engine.connect() as connection:
        assert tally(connection, ["Nowhere"], since, "district") == []


def _attacks(dialect: str) -> list[str]:
    change = "assignee = 'li'"
    common = [
        f"UPDATE assignments SET {change}",
        "UPDATE assignments SET child_id = 'BJ2' WHERE id = 1",
        "DELETE FROM assignments",
        "DELETE FROM assignments WHERE id = 1",
        f"INSERT INTO assignments VALUES {ROW} ON CONFLICT (id) DO UPDATE SET {change}",
        f"INSERT INTO assignments VALUES {ROW} ON CONFLICT (id) DO NOTHING",
    ]
    if dialect == "sqlite":
        return [
            *common,
            f"INSERT OR REPLACE INTO assignments VALUES {ROW}",
            f"REPLACE INTO assignments VALUES {ROW}",
            f"UPDATE OR REPLACE assignments SET {change}",
        ]
    return [
        *common,
        "TRUNCATE assignments",
        "TRUNCATE assignments CASCADE",
        "TRUNCATE children CASCADE",  # reaches assignments through its foreign key
        "MERGE INTO assignments t USING (SELECT * FROM assignments) s ON t.id = s.id "
        f"WHEN MATCHED THEN UPDATE SET {change}",
        "MERGE INTO assignments t USING (SELECT * FROM assignments) s ON t.id = s.id "
        "WHEN MATCHED THEN DELETE",
    ]


def test_every_statement_form_that_edits_or_erases_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO assignments VALUES {ROW}"))
        if engine.dialect.name == "postgresql":  # an explicit id leaves the sequence behind
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('assignments', 'id'), 1)")
            )

    def snapshot() -> list[tuple[object, ...]]:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text("SELECT * FROM assignments"))]

    before = snapshot()
    for statement in _attacks(engine.dialect.name):
        refused = False
        try:
            with engine.begin() as connection:
                connection.execute(text(statement))
        except DBAPIError as exc:
            refused = any(word in str(exc) for word in ("append-only", "foreign key"))
        if "DO NOTHING" in statement:  # a no-op: nothing to refuse, nothing may change
            refused = True
        assert refused, statement
        assert snapshot() == before, statement
    with engine.begin() as connection:  # appending still works
        assign(connection, "BJ1", OWN, "li", "zhao", "")
    assert len(snapshot()) == 2
