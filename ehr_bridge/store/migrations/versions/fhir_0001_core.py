"""FHIR store core: resources, history, search indexes.

Revision ID: fhir_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fhir_0001"
down_revision = None
branch_labels = ("fhir",)
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fhir_resource",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=False), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content_hash", sa.String(40), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_fhir_resource"),
        sa.UniqueConstraint("resource_type", "id", name="uq_fhir_resource_type_id"),
    )
    op.create_index("ix_fhir_resource_last_updated", "fhir_resource", ["last_updated"])
    op.create_table(
        "fhir_resource_history",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=False), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(
            "resource_type", "id", "version_id", name="pk_fhir_resource_history"
        ),
    )
    op.create_table(
        "fhir_idx_token",
        sa.Column("res_pk", PK, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("code", sa.String(255), nullable=False),
    )
    op.create_index(
        "ix_fhir_idx_token_lookup", "fhir_idx_token", ["resource_type", "param", "code", "system"]
    )
    op.create_index("ix_fhir_idx_token_res", "fhir_idx_token", ["res_pk"])
    op.create_table(
        "fhir_idx_string",
        sa.Column("res_pk", PK, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
    )
    op.create_index(
        "ix_fhir_idx_string_lookup", "fhir_idx_string", ["resource_type", "param", "value"]
    )
    op.create_index("ix_fhir_idx_string_res", "fhir_idx_string", ["res_pk"])
    op.create_table(
        "fhir_idx_date",
        sa.Column("res_pk", PK, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("end", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index(
        "ix_fhir_idx_date_lookup", "fhir_idx_date", ["resource_type", "param", "start", "end"]
    )
    op.create_index("ix_fhir_idx_date_res", "fhir_idx_date", ["res_pk"])
    op.create_table(
        "fhir_idx_reference",
        sa.Column("res_pk", PK, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(255), nullable=False),
    )
    op.create_index(
        "ix_fhir_idx_reference_lookup",
        "fhir_idx_reference",
        ["resource_type", "param", "target_id", "target_type"],
    )
    op.create_index("ix_fhir_idx_reference_res", "fhir_idx_reference", ["res_pk"])
    op.create_table(
        "fhir_idx_quantity",
        sa.Column("res_pk", PK, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_fhir_idx_quantity_lookup", "fhir_idx_quantity", ["resource_type", "param", "value"]
    )
    op.create_index("ix_fhir_idx_quantity_res", "fhir_idx_quantity", ["res_pk"])


def downgrade() -> None:
    for name in (
        "fhir_idx_quantity",
        "fhir_idx_reference",
        "fhir_idx_date",
        "fhir_idx_string",
        "fhir_idx_token",
        "fhir_resource_history",
        "fhir_resource",
    ):
        op.drop_table(name)
