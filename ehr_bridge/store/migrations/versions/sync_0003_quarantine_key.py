"""Quarantine entries looked up by record key (batched resolution in the sync loop).

Revision ID: sync_0003
"""

from __future__ import annotations

from alembic import op

revision = "sync_0003"
down_revision = "sync_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_quarantine_key", "sync_quarantine", ["connector", "record_key"])


def downgrade() -> None:
    op.drop_index("ix_sync_quarantine_key", table_name="sync_quarantine")
