"""Record corrections: a record marked wrong (disputed), amended (corrected) or expunged.

Append-only: a correction never overwrites the record it is about (the events row stays
as loaded) nor an earlier correction; the latest correction of a record rules, except
that an expunged record stays gone (features.corrections). Each row keeps who recorded
it, who confirmed it, its reason and reference, and the child's score just before and
just after it (the model version and date they were computed for, and the factors that
moved, as JSON), so the child's history shows both.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "corrections"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String, sa.ForeignKey("events.event_id"), nullable=False),
        sa.Column("child_id", sa.String(64), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amended", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reference", sa.String(256), nullable=False),
        sa.Column("confirmed_by", sa.String(128), nullable=False),
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
        sa.CheckConstraint("kind IN ('disputed', 'corrected', 'expunged')", name="ck_kind"),
    )
    op.create_index("ix_corrections_child", TABLE, ["child_id", "id"])
    op.create_index("ix_corrections_event", TABLE, ["event_id", "id"])
    append_only(TABLE, op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
