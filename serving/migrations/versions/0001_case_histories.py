"""Case histories: children, events and the record of loads.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "children",
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("hukou", sa.String(32), nullable=False),
        sa.Column("ethnicity", sa.String(32), nullable=False),
        sa.Column("household_id", sa.String, nullable=True),
    )
    op.create_index("ix_children_district", "children", ["district"])
    op.create_index("ix_children_household_id", "children", ["household_id"])
    op.create_table(
        "events",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("child_id", sa.String(64), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("severity", sa.SmallInteger, nullable=True),
        sa.Column("amount", sa.Float, nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
    )
    op.create_index("ix_events_child_recorded", "events", ["child_id", "recorded_at"])
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("exported_at", sa.DateTime, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        sa.Column("children", sa.Integer, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("loads")
    op.drop_index("ix_events_child_recorded", "events")
    op.drop_table("events")
    op.drop_index("ix_children_household_id", "children")
    op.drop_index("ix_children_district", "children")
    op.drop_table("children")
