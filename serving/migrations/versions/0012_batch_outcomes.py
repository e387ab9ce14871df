"""Outcome monitoring kept: how each past batch's scores turned out, judged once its
horizon had passed (models.outcomes), by the model that scored it. One report per batch,
as JSON (aggregates by group; no child's data); append-only.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "batch_outcomes"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), primary_key=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("horizon_days", sa.Integer, nullable=False),
        sa.Column("judged_at", sa.DateTime, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    )
    append_only(TABLE, op.get_bind().dialect.name == "postgresql", key="batch_id")


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
