"""The audit log on SQLite and PostgreSQL: records are written in the caller's
transaction, read back newest first, and the database refuses to edit or erase them."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from serving.audit import AuditError, entries, record
from serving.store import make_engine, upgrade
from serving.store.tables import AuditRecord
from serving.users import Principal

WANG = Principal(1, "wang", "caseworker", frozenset({"Haidian"}))


def test_records_are_appended_and_read_back(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        record(connection, WANG, "read_risk", "allowed", "BJ1", "Haidian", "10.0.0.7")
        record(connection, WANG, "read_history", "not_found", "BJ2", None, "10.0.0.7")
    newest = entries(engine)
    assert [e.action for e in newest] == ["read_history", "read_risk"]
    assert newest[1].child_id == "BJ1"
    assert newest[1].client == "10.0.0.7"
    assert [e.action for e in entries(engine, child_id="BJ1")] == ["read_risk"]
    assert entries(engine, user_name="nobody") == []


def test_a_record_falls_with_its_transaction(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)

    def failing_read() -> None:
        with engine.begin() as connection:
            record(connection, WANG, "read_risk", "allowed", "BJ1")
            raise RuntimeError("the read failed")

    with pytest.raises(RuntimeError):
        failing_read()
    assert entries(engine) == []


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditRecord).values(action="nothing"),
        delete(AuditRecord),
    ],
)
def test_the_database_refuses_to_edit_or_erase_a_record(url: str, statement: object) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        record(connection, WANG, "read_risk", "allowed", "BJ1")
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(statement)  # type: ignore[call-overload]
    assert [e.action for e in entries(engine)] == ["read_risk"]


def test_postgresql_refuses_truncate_too(url: str) -> None:
    engine = make_engine(url)
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's; SQLite has none")
    upgrade(engine)
    with engine.begin() as connection:
        record(connection, WANG, "read_risk", "allowed", "BJ1")
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit"))
    assert len(entries(engine)) == 1


def test_bad_records_are_refused() -> None:
    engine = make_engine("sqlite://")
    upgrade(engine)
    with pytest.raises(AuditError, match="outcome 'maybe'"), engine.begin() as connection:
        record(connection, WANG, "read_risk", "maybe")
    with pytest.raises(AuditError, match="action"), engine.begin() as connection:
        record(connection, WANG, "", "allowed")
