"""Connector sync state: record state, cursors, quarantine.

Revision ID: sync_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sync_0001"
down_revision = None
branch_labels = ("sync",)
depends_on = "fhir_0001"

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_record",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("record_key", sa.String(512), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("resources", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("connector", "record_key", name="pk_sync_record"),
    )
    op.create_table(
        "sync_cursor",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("cursor", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("connector", "scope", name="pk_sync_cursor"),
    )
    op.create_table(
        "sync_quarantine",
        sa.Column("id", _PK, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("record_key", sa.String(512), nullable=False),
        sa.Column("source_ref", sa.String(1024), nullable=False),
        sa.Column("location", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=False), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_sync_quarantine_source", "sync_quarantine", ["connector", "source_ref"])


def downgrade() -> None:
    op.drop_index("ix_sync_quarantine_source", table_name="sync_quarantine")
    op.drop_table("sync_quarantine")
    op.drop_table("sync_cursor")
    op.drop_table("sync_record")
