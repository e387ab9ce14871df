"""What linkage produced, in the store: where each record came from and how sure its link
is, who each child is, the review queue, people's pair decisions and requests.

- ``events.source`` and ``events.source_record_id``: the partner's system and its own
  record id (None for a folder riskflag did not link);
- ``children.merged_into``: set when a later linkage merged the child into another;
- ``links`` (each source record's child, how it was joined, its match probability) and
  ``identities`` (each child's resolved name, ID number, birth date and sex): replaced
  by each linked load;
- ``review_pairs``: the latest linked load's undecided pairs in the review band;
- ``pair_decisions``, ``link_requests`` and ``child_changes``: append-only, as the audit
  log is (the same triggers against every statement form, on both engines).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from serving.migrations.guards import append_only

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = ("pair_decisions", "link_requests", "child_changes")


def _tables() -> None:
    with op.batch_alter_table("events", recreate="never") as batch:
        batch.add_column(sa.Column("source", sa.String(32), nullable=True))
        batch.add_column(sa.Column("source_record_id", sa.String(64), nullable=True))
    with op.batch_alter_table("children", recreate="never") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(64), nullable=True))
    op.create_table(
        "links",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("child_id", sa.String(64), nullable=False, index=True),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("match_probability", sa.Float, nullable=True),
        sa.Column("family_only", sa.Boolean, nullable=False),
    )
    op.create_table(
        "identities",
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("id_number", sa.String(32), nullable=True),
        sa.Column("birth_date", sa.String(10), nullable=True),
        sa.Column("birth_precision", sa.String(8), nullable=True),
        sa.Column("sex", sa.String(16), nullable=True),
    )
    op.create_table(
        "review_pairs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.id"), nullable=False),
        *(
            sa.Column(f"{name}_{side}", sa.String(width), nullable=False, index=name == "child_id")
            for side in ("l", "r")
            for name, width in (("source", 32), ("record_id", 64), ("child_id", 64))
        ),
        sa.Column("match_probability", sa.Float, nullable=False),
        sa.Column("district_l", sa.String(64), nullable=True, index=True),
        sa.Column("district_r", sa.String(64), nullable=True, index=True),
        sa.Column("record_l", sa.Text, nullable=False),
        sa.Column("record_r", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
    )
    op.create_table(
        "link_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("child_id", sa.String(64), nullable=False, index=True),
        sa.Column("other_child_id", sa.String(64), nullable=True),
        sa.Column("district", sa.String(64), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pair_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *(
            sa.Column(f"{name}_{side}", sa.String(width), nullable=False)
            for side in ("l", "r")
            for name, width in (("source", 32), ("record_id", 64))
        ),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("link_requests.id"), nullable=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "child_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.id"), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("child_id", sa.String(64), nullable=True, index=True),
        sa.Column("from_child_id", sa.String(64), nullable=True, index=True),
        sa.Column("records", sa.Integer, nullable=False),
    )


def upgrade() -> None:
    _tables()
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        append_only(table, postgresql)


def downgrade() -> None:
    for table in ("pair_decisions", "link_requests", "child_changes", "review_pairs"):
        op.drop_table(table)  # their triggers go with them
    op.drop_table("identities")
    op.drop_table("links")
    with op.batch_alter_table("children", recreate="never") as batch:
        batch.drop_column("merged_into")
    with op.batch_alter_table("events", recreate="never") as batch:
        batch.drop_column("source_record_id")
        batch.drop_column("source")
