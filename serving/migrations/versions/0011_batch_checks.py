"""Monitoring: each batch's checks of its inputs, its features against the training
population and its scores against the batches before it (models.monitoring), with the
monitoring policy's SHA-256 they were judged by. Written with the batch, in its
transaction; append-only.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "batch_checks"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("problem", sa.String(16), nullable=True),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_batch_checks_batch", TABLE, ["batch_id", "id"])
    append_only(TABLE, op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
