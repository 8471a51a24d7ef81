"""JLAC service: masters, rows, results, review decisions.

Revision ID: jlac_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "jlac_0001"
down_revision = None
branch_labels = ("jlac",)
depends_on = "fhir_0001"

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _child(name: str, *cols: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("master_id", _PK, nullable=False),
        sa.Column("local_code", sa.String(100), nullable=False),
        *cols,
        sa.PrimaryKeyConstraint("master_id", "local_code", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            ["master_id"],
            ["jlac_master.id"],
            ondelete="CASCADE",
            name=f"fk_{name}_master_id_jlac_master",
        ),
    )


def upgrade() -> None:
    op.create_table(
        "jlac_master",
        sa.Column("id", _PK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("mapped_hash", sa.String(64), nullable=True),
        sa.Column("mapped_tables", sa.String(64), nullable=True),
        sa.Column("mapped_at", sa.DateTime(timezone=False), nullable=True),
        sa.UniqueConstraint("name", name="uq_jlac_master_name"),
    )
    _child(
        "jlac_master_row",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("local_name", sa.String(500), nullable=False),
        sa.Column("specimen", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("method", sa.String(500), nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
    )
    _child(
        "jlac_result",
        sa.Column("jlac10", sa.String(17), nullable=False),
        sa.Column("jlac11", sa.String(17), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("mapped_at", sa.DateTime(timezone=False), nullable=False),
    )
    _child(
        "jlac_decision",
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("jlac10", sa.String(17), nullable=False),
        sa.Column("jlac11", sa.String(17), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=False), nullable=False),
    )


def downgrade() -> None:
    for name in ("jlac_decision", "jlac_result", "jlac_master_row", "jlac_master"):
        op.drop_table(name)
