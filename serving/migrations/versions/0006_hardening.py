"""Append-only against every statement form, a failure throttle, no per-account lockout.

- The records of what the service said and what people did (audit, decisions, batches,
  batch_scores, loads) refuse UPDATE, DELETE and TRUNCATE on both engines, and on SQLite
  also the deletes hidden in REPLACE (``INSERT OR REPLACE``, ``REPLACE INTO``): SQLite
  runs no DELETE trigger for them, so a BEFORE INSERT trigger refuses any row whose key
  is taken. Upserts fire the UPDATE triggers (PostgreSQL) or meet the INSERT one (SQLite).
- ``throttle`` counts failed sign-ins and token presentations per client, and per name
  and client, under SHA-256 keys (never the name typed, which may be a password).
- ``users.failed_logins`` and ``users.locked_until`` go: a lockout per account told
  which names exist and let anyone lock anyone out (serving.throttle replaces it).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# each append-only table with its unique keys (a REPLACE conflicts on any of them)
APPEND_ONLY = {
    "audit": [["id"]],
    "decisions": [["id"]],
    "batches": [["id"]],
    "batch_scores": [["batch_id", "child_id"]],
    "loads": [["id"], ["sha256"]],
}
# what 0003 and 0004 created already
DONE: dict[str, dict[str, tuple[str, ...]]] = {
    "postgresql": {"audit": ("UPDATE", "DELETE", "TRUNCATE"), "decisions": ("UPDATE", "DELETE")},
    "sqlite": {"audit": ("UPDATE", "DELETE"), "decisions": ("UPDATE", "DELETE")},
}


def _postgresql() -> None:
    op.execute(
        """
        CREATE FUNCTION riskflag_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '% records are append-only', TG_TABLE_NAME; END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in APPEND_ONLY:
        done = DONE["postgresql"].get(table, ())
        if "UPDATE" not in done:
            op.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION riskflag_append_only()"
            )
        if "TRUNCATE" not in done:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION riskflag_append_only()"
            )


def _sqlite() -> None:
    for table, keys in APPEND_ONLY.items():
        message = f"{table} records are append-only"
        for verb in ("UPDATE", "DELETE"):
            if verb not in DONE["sqlite"].get(table, ()):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
        taken = " OR ".join(
            "EXISTS (SELECT 1 FROM {t} WHERE {c})".format(
                t=table, c=" AND ".join(f"{column} = NEW.{column}" for column in key)
            )
            for key in keys
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {taken} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()
    op.create_table(
        "throttle",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime, nullable=True))
    op.drop_table("throttle")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        done = DONE["postgresql" if postgresql else "sqlite"].get(table, ())
        if postgresql:
            if "UPDATE" not in done:
                op.execute(f"DROP TRIGGER {table}_no_update_delete ON {table}")
            if "TRUNCATE" not in done:
                op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            continue
        op.execute(f"DROP TRIGGER {table}_no_replace")
        for verb in ("UPDATE", "DELETE"):
            if verb not in done:
                op.execute(f"DROP TRIGGER {table}_no_{verb.lower()}")
    if postgresql:
        op.execute("DROP FUNCTION riskflag_append_only()")
