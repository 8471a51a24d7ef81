"""The MLLP listener's visit messages per patient (folded into one Encounter per visit).

Revision ID: sync_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sync_0004"
down_revision = "sync_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mllp_visit_message",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("patient_key", sa.String(512), nullable=False),
        sa.Column("control_id", sa.String(199), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(1024), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint(
            "connector", "patient_key", "control_id", name="pk_mllp_visit_message"
        ),
    )


def downgrade() -> None:
    op.drop_table("mllp_visit_message")
