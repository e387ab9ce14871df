"""Household control: a household member marked as not living with a child, or not in
contact with them, whose records stop counting for that child from ``since``
(features.separations); ``resumed`` ends it from its own date.

Append-only: a marking is never changed, only followed by another. Each row keeps who
made it, their role, its reason, and the child's score just before and just after it
(the model version and date they were computed for, and the factors that moved, as
JSON), so the child's history shows both.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLE = "separations"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("child_id", sa.String(64), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("member_id", sa.String(64), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("since", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("model_version", sa.String(32), nullable=True),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("score_before", sa.SmallInteger, nullable=True),
        sa.Column("score_after", sa.SmallInteger, nullable=True),
        sa.Column("rate_before", sa.Float, nullable=True),
        sa.Column("rate_after", sa.Float, nullable=True),
        sa.Column("moved", sa.Text, nullable=True),
        sa.CheckConstraint(
            "kind IN ('not_living_with', 'no_contact', 'resumed')", name="ck_separation_kind"
        ),
        sa.CheckConstraint("child_id <> member_id", name="ck_separation_other"),
    )
    op.create_index("ix_separations_child", TABLE, ["child_id", "id"])
    append_only(TABLE, op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
