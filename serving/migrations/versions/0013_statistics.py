"""The division's statistics as published: one row per publication of an export's
counts, suppressed before they were stored (features.statistics.suppression), as JSON
(aggregates only: no child's data, no count under the threshold); append-only.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE = "statistics"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("exported_at", sa.DateTime, nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("definitions_sha256", sa.String(64), nullable=False),
        sa.Column("figures", sa.Text, nullable=False),
    )
    append_only(TABLE, op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
