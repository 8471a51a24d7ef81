"""Incremental storage sync: per-folder signatures.

Revision ID: sync_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sync_0002"
down_revision = "sync_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_folder",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("folder", sa.String(512), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("connector", "scope", "folder", name="pk_sync_folder"),
    )


def downgrade() -> None:
    op.drop_table("sync_folder")
