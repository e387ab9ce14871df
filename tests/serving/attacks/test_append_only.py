"""D3: the record tables (audit, decisions, batches, batch_scores, loads, pair_decisions,
link_requests, child_changes, assignments, corrections, separations, batch_checks,
batch_outcomes, statistics) refuse every statement form that edits or erases a row, on
SQLite and PostgreSQL; on PostgreSQL the service's own role cannot even try."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from serving.store import make_engine, upgrade
from serving.store.roles import APPEND_ONLY, SERVICE_RIGHTS, grant_service_role
from serving.store.tables import Base

NOW = "'2025-12-01 10:00:00'"
ROWS = {  # one row per table, in an order that keeps the foreign keys
    "loads": f"(1, 'abc', 'src', {NOW}, {NOW}, 1, 1, 1, 0)",
    "children": "('BJ1', '2015-01-01', 'F', 'Chaoyang', 'local', 'han', NULL, NULL), "
    "('BJ2', '2013-01-01', 'M', 'Chaoyang', 'local', 'han', NULL, NULL)",
    "batches": f"(1, '2025-12-01', '1', 'sha', 'scorecard', {NOW}, 'tests', 1, 1)",
    "batch_scores": "(1, 'BJ1', 'Chaoyang', 0.5, 19, 'urgent', TRUE, '[]')",
    "decisions": f"(1, 'BJ1', 'Chaoyang', 'wang', 'caseworker', 'home_visit', TRUE, NULL, "
    f"'note', 1, 19, '1', {NOW})",
    "audit": f"(1, {NOW}, 'wang', 'caseworker', 'read_risk', 'BJ1', 'Chaoyang', NULL, 'allowed')",
    "link_requests": f"(1, 'merge', 'BJ1', 'BJ2', 'Chaoyang', 'same child', 'wang', "
    f"'caseworker', {NOW})",
    "pair_decisions": f"(1, 'welfare', 'W1', 'health', 'H1', 'same', 'note', 1, 'li', {NOW})",
    "child_changes": "(1, 1, 'merged', 'BJ1', 'BJ2', 3)",
    "assignments": f"(1, 'BJ1', 'Chaoyang', 'wang', 'zhao', 'note', {NOW})",
    "events": f"('E1', 'BJ1', 'school.absence', {NOW}, {NOW}, NULL, NULL, NULL, NULL, NULL)",
    "corrections": f"(1, 'E1', 'BJ1', 'Chaoyang', 'disputed', NULL, 'not hers', 'note 7', "
    f"'the school', 'li', 'supervisor', {NOW}, '1', '2025-12-01', 17, 12, 0.2, 0.1, '[]')",
    "separations": f"(1, 'BJ1', 'BJ2', 'Chaoyang', 'no_contact', '2025-11-01', 'moved out', "
    f"'li', 'caseworker', {NOW}, '1', '2025-12-01', 17, 12, 0.2, 0.1, '[]')",
    "batch_checks": "(1, 1, 'volume', 'health', 0, 80, 'silent', 'abc')",
    "batch_outcomes": f"(1, '1', 180, {NOW}, '{{}}')",
    "statistics": f"(1, {NOW}, {NOW}, 'li', 'abc', '{{}}')",
}
KEYS = {
    "loads": "id",
    "batches": "id",
    "batch_scores": "batch_id, child_id",
    "decisions": "id",
    "audit": "id",
    "link_requests": "id",
    "pair_decisions": "id",
    "child_changes": "id",
    "assignments": "id",
    "corrections": "id",
    "separations": "id",
    "batch_checks": "id",
    "batch_outcomes": "batch_id",
    "statistics": "id",
}
SET = {
    "loads": "source = 'x'",
    "batches": "created_by = 'x'",
    "batch_scores": "tier = 'low'",
    "decisions": "note = 'x'",
    "audit": "action = 'x'",
    "link_requests": "reason = 'x'",
    "pair_decisions": "decision = 'different'",
    "child_changes": "records = 9",
    "assignments": "assignee = 'li'",
    "corrections": "kind = 'corrected'",
    "separations": "kind = 'resumed'",
    "batch_checks": "problem = NULL",
    "batch_outcomes": "report = 'x'",
    "statistics": "figures = 'x'",
}


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        for table, row in ROWS.items():
            connection.execute(text(f"INSERT INTO {table} VALUES {row}"))
        if engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
            for table in (*(name for name, key in KEYS.items() if key == "id"),):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)")
                )
    yield engine
    engine.dispose()


def _statements(table: str, dialect: str) -> list[str]:
    row, key, change = ROWS[table], KEYS[table], SET[table]
    common = [
        f"UPDATE {table} SET {change}",
        f"DELETE FROM {table}",
        f"INSERT INTO {table} VALUES {row} ON CONFLICT ({key}) DO UPDATE SET {change}",
    ]
    if dialect == "sqlite":
        return [
            *common,
            f"INSERT OR REPLACE INTO {table} VALUES {row}",
            f"REPLACE INTO {table} VALUES {row}",
            f"UPDATE OR REPLACE {table} SET {change}",
        ]
    on = " AND ".join(f"t.{k.strip()} = s.{k.strip()}" for k in key.split(","))
    return [
        *common,
        f"TRUNCATE {table}",
        f"TRUNCATE {table} CASCADE",
        "TRUNCATE children CASCADE",  # reaches decisions and batch_scores through their keys
        f"MERGE INTO {table} t USING (SELECT * FROM {table}) s ON {on} "
        f"WHEN MATCHED THEN UPDATE SET {change.replace(' = ', ' = ', 1)}",
        f"MERGE INTO {table} t USING (SELECT * FROM {table}) s ON {on} WHEN MATCHED THEN DELETE",
    ]


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {table}"))]
            for table in APPEND_ONLY
        }


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_every_statement_form_is_refused(engine: Engine, table: str) -> None:
    before = _snapshot(engine)
    refused = []
    for statement in _statements(table, engine.dialect.name):
        try:
            with engine.begin() as connection:
                connection.execute(text(statement))
        except DBAPIError as exc:
            # a trigger's refusal, or PostgreSQL's own for a table others reference
            refused.append(any(word in str(exc) for word in ("append-only", "foreign key")))
        else:
            refused.append(False)
        assert _snapshot(engine) == before, statement
    assert all(refused), list(zip(_statements(table, engine.dialect.name), refused, strict=True))


def test_appending_still_works(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO audit (at, user_name, role, action, outcome) "
                f"VALUES ({NOW}, 'li', 'admin', 'read_audit', 'allowed')"
            )
        )
        count = connection.execute(select(func.count()).select_from(text("audit"))).scalar()
    assert count == 2


def test_every_table_has_its_service_rights_decided() -> None:
    assert set(SERVICE_RIGHTS) == {*Base.metadata.tables, "alembic_version"}
    for table in APPEND_ONLY:
        assert set(SERVICE_RIGHTS[table]) == {"SELECT", "INSERT"}


def test_the_service_role_cannot_edit_erase_or_unguard(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"riskflag_service_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        grant_service_role(engine, role)
        service = create_engine(engine.url.set(username=role), hide_parameters=True)
        upgrade(service)  # at the latest schema already: the service may start
        with service.begin() as connection:  # what requests do
            connection.execute(
                text(
                    f"INSERT INTO audit (at, user_name, role, action, outcome) "
                    f"VALUES ({NOW}, 'li', 'admin', 'read_audit', 'allowed')"
                )
            )
            connection.execute(text("SELECT * FROM children")).all()
        for table in APPEND_ONLY:
            for statement in (
                f"UPDATE {table} SET {SET[table]}",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
                f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                f"DROP TABLE {table}",
            ):
                with (
                    pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
                    service.begin() as connection,
                ):
                    connection.execute(text(statement))
        with pytest.raises(DBAPIError, match="permission denied"), service.begin() as c:
            c.execute(text("UPDATE children SET sex = 'M'"))
        service.dispose()
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
