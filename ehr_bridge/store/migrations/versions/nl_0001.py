"""nl2query audit log.

Revision ID: nl_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "nl_0001"
down_revision = None
branch_labels = ("nl",)
depends_on = "fhir_0001"


def upgrade() -> None:
    op.create_table(
        "nl_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("query_fhir", sa.Text(), nullable=True),
        sa.Column("query_sql", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("nl_audit")
