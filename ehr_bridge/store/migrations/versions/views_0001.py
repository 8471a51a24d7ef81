"""nl2query flat views (SQL-on-FHIR style), filled by the store's projection hook.

Revision ID: views_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "views_0001"
down_revision = None
branch_labels = ("views",)
depends_on = "fhir_0001"


def upgrade() -> None:
    op.create_table(
        "flat_allergy",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=True),
        sa.Column("code_system", sa.Text(), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("display_norm", sa.Text(), nullable=True),
        sa.Column("clinical_status", sa.String(32), nullable=True),
        sa.Column("verification_status", sa.String(32), nullable=True),
        sa.Column("recorded_date", sa.String(10), nullable=True),
    )
    op.create_index("ix_flat_allergy_pid", "flat_allergy", ["patient_id"])
    op.create_index("ix_flat_allergy_rid", "flat_allergy", ["resource_id"])
    op.create_table(
        "flat_condition",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=True),
        sa.Column("code_system", sa.Text(), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("display_norm", sa.Text(), nullable=True),
        sa.Column("verification_status", sa.String(32), nullable=True),
        sa.Column("clinical_status", sa.String(32), nullable=True),
        sa.Column("onset_date", sa.String(10), nullable=True),
        sa.Column("recorded_date", sa.String(10), nullable=True),
    )
    op.create_index("ix_flat_cond_rid", "flat_condition", ["resource_id"])
    op.create_index("ix_flat_cond_code", "flat_condition", ["code"])
    op.create_index("ix_flat_cond_pid", "flat_condition", ["patient_id"])
    op.create_table(
        "flat_encounter",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=True),
        sa.Column("class_code", sa.String(16), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("start_date", sa.String(10), nullable=True),
        sa.Column("end_date", sa.String(10), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("department_code", sa.String(16), nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason_display", sa.Text(), nullable=True),
        sa.Column("reason_norm", sa.Text(), nullable=True),
    )
    op.create_index("ix_flat_enc_rid", "flat_encounter", ["resource_id"])
    op.create_index("ix_flat_enc_pid", "flat_encounter", ["patient_id"])
    op.create_table(
        "flat_encounter_location",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("location_norm", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("start_date", sa.String(10), nullable=True),
        sa.Column("end_date", sa.String(10), nullable=True),
    )
    op.create_index("ix_flat_encloc_rid", "flat_encounter_location", ["resource_id"])
    op.create_table(
        "flat_medication_request",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=True),
        sa.Column("code_system", sa.Text(), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("display_norm", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("authored_date", sa.String(10), nullable=True),
        sa.Column("dose_value", sa.Float(), nullable=True),
        sa.Column("dose_unit", sa.String(32), nullable=True),
        sa.Column("frequency", sa.Float(), nullable=True),
        sa.Column("period_days", sa.Float(), nullable=True),
    )
    op.create_index("ix_flat_med_rid", "flat_medication_request", ["resource_id"])
    op.create_index("ix_flat_med_pid", "flat_medication_request", ["patient_id"])
    op.create_index("ix_flat_med_code", "flat_medication_request", ["code"])
    op.create_table(
        "flat_observation",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=True),
        sa.Column("code_system", sa.Text(), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("display_norm", sa.Text(), nullable=True),
        sa.Column("component", sa.String(32), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("effective_date", sa.String(10), nullable=True),
        sa.Column("effective_at", sa.String(40), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(64), nullable=True),
    )
    op.create_index("ix_flat_obs_pid", "flat_observation", ["patient_id"])
    op.create_index("ix_flat_obs_rid", "flat_observation", ["resource_id"])
    op.create_index("ix_flat_obs_code", "flat_observation", ["code", "patient_id"])
    op.create_table(
        "flat_patient",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=False),
        sa.Column("identifier", sa.String(64), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("kana", sa.Text(), nullable=True),
        sa.Column("gender", sa.String(16), nullable=True),
        sa.Column("birth_date", sa.String(10), nullable=True),
    )
    op.create_index("ix_flat_patient_pid", "flat_patient", ["patient_id"])
    op.create_index("ix_flat_patient_ident", "flat_patient", ["identifier"])
    op.create_index("ix_flat_patient_rid", "flat_patient", ["resource_id"])


def downgrade() -> None:
    op.drop_table("flat_patient")
    op.drop_table("flat_observation")
    op.drop_table("flat_medication_request")
    op.drop_table("flat_encounter_location")
    op.drop_table("flat_encounter")
    op.drop_table("flat_condition")
    op.drop_table("flat_allergy")
