"""Assignments: which caseworker a supervisor gave a child to.

Append-only, as decisions are: a later row supersedes an earlier one (the latest row per
child is the current assignment; unassigning is a row with no assignee), and the same
triggers as migrations 0006 and 0007 refuse UPDATE, DELETE, TRUNCATE and, on SQLite,
the deletes hidden in REPLACE.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "assignments"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("child_id", sa.String(64), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_assignments_child", TABLE, ["child_id", "id"])
    op.create_index("ix_assignments_district", TABLE, ["district"])
    append_only(TABLE, op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
