"""FHIR store: token lookup index ordered by res_pk within a code; planner statistics.

Revision ID: fhir_0002
Revises: fhir_0001

``(resource_type, param, code, res_pk, system)`` instead of ``(..., code, system)``: within one
code the index rows come out in ``res_pk`` order, so a search paging by ``pk`` walks the first
matches of a broad code (thousands of Observations of one analyte) and stops, a capped
``total`` count is a merge of ordered index scans, and a token condition probed for one
resource (``code = ? AND res_pk = ?``) is one index lookup whatever the system.

PostgreSQL only: multi-column statistics on the index tables' key columns. The planner
otherwise multiplies the selectivities of resource_type, param and code as if independent and
estimated 289 rows for Condition clinical-status=active (66,000 at 1M resources), choosing
hash joins over whole parameter ranges where an ordered walk stops after one page.
"""

from __future__ import annotations

from alembic import op

revision = "fhir_0002"
down_revision = "fhir_0001"
branch_labels = None
depends_on = None

_STATISTICS = [
    ("st_fhir_idx_token_key", "fhir_idx_token", "resource_type, param, code, system"),
    ("st_fhir_idx_string_key", "fhir_idx_string", "resource_type, param"),
    ("st_fhir_idx_date_key", "fhir_idx_date", "resource_type, param"),
    ("st_fhir_idx_reference_key", "fhir_idx_reference", "resource_type, param, target_type"),
    ("st_fhir_idx_quantity_key", "fhir_idx_quantity", "resource_type, param, system, code"),
]


def upgrade() -> None:
    op.drop_index("ix_fhir_idx_token_lookup", table_name="fhir_idx_token")
    op.create_index(
        "ix_fhir_idx_token_lookup_pk",
        "fhir_idx_token",
        ["resource_type", "param", "code", "res_pk", "system"],
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, table, columns in _STATISTICS:
            op.execute(f"CREATE STATISTICS {name} (mcv, dependencies) ON {columns} FROM {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _columns in _STATISTICS:
            op.execute(f"DROP STATISTICS IF EXISTS {name}")
    op.drop_index("ix_fhir_idx_token_lookup_pk", table_name="fhir_idx_token")
    op.create_index(
        "ix_fhir_idx_token_lookup", "fhir_idx_token", ["resource_type", "param", "code", "system"]
    )
