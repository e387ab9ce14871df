"""The append-only guards of a table created after migration 0006: its triggers refuse
UPDATE, DELETE and TRUNCATE (PostgreSQL, by 0006's function ``riskflag_append_only``) or
UPDATE, DELETE and the deletes hidden in REPLACE (SQLite). One definition for every later
migration's tables, so a new table cannot get weaker guards."""

from __future__ import annotations

from alembic import op


def append_only(table: str, postgresql: bool, key: str = "id") -> None:
    """Create ``table``'s guards (in the running migration); ``key``: its primary key's
    column, which a REPLACE would collide on (SQLite)."""
    if postgresql:
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION riskflag_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION riskflag_append_only()"
        )
        return
    message = f"{table} records are append-only"
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    op.execute(
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )
