"""Tables of the FHIR store: current resources, older versions, and search indexes.

A resource is one row of ``fhir_resource`` (FHIR JSON as text, version id, last-updated,
content hash); older versions move to ``fhir_resource_history``. Search parameters are
materialised at write time into typed index tables keyed by the resource's surrogate ``pk``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ehr_bridge.store.base import metadata

PK = BigInteger().with_variant(Integer(), "sqlite")

resource_table = Table(
    "fhir_resource",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime(timezone=False), nullable=False, index=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content_hash", String(40), nullable=False),
    Column("content", Text, nullable=False),
    UniqueConstraint("resource_type", "id", name="uq_fhir_resource_type_id"),
)

history_table = Table(
    "fhir_resource_history",
    metadata,
    Column("resource_type", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version_id", Integer, primary_key=True),
    Column("last_updated", DateTime(timezone=False), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=False),
)

idx_token = Table(
    "fhir_idx_token",
    metadata,
    Column("res_pk", PK, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("system", String(255), nullable=False),
    Column("code", String(255), nullable=False),
    # res_pk after code: rows of one code come out in pk order (paging and capped counts stop
    # early) and a probe for one resource is one lookup (migration fhir_0002)
    Index("ix_fhir_idx_token_lookup_pk", "resource_type", "param", "code", "res_pk", "system"),
    Index("ix_fhir_idx_token_res", "res_pk"),
)

idx_string = Table(
    "fhir_idx_string",
    metadata,
    Column("res_pk", PK, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("value", String(255), nullable=False),
    Index("ix_fhir_idx_string_lookup", "resource_type", "param", "value"),
    Index("ix_fhir_idx_string_res", "res_pk"),
)

idx_date = Table(
    "fhir_idx_date",
    metadata,
    Column("res_pk", PK, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("start", DateTime(timezone=False), nullable=False),
    Column("end", DateTime(timezone=False), nullable=False),
    Index("ix_fhir_idx_date_lookup", "resource_type", "param", "start", "end"),
    Index("ix_fhir_idx_date_res", "res_pk"),
)

idx_reference = Table(
    "fhir_idx_reference",
    metadata,
    Column("res_pk", PK, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(255), nullable=False),
    Index("ix_fhir_idx_reference_lookup", "resource_type", "param", "target_id", "target_type"),
    Index("ix_fhir_idx_reference_res", "res_pk"),
)

idx_quantity = Table(
    "fhir_idx_quantity",
    metadata,
    Column("res_pk", PK, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("system", String(255), nullable=False),
    Column("code", String(64), nullable=False),
    Index("ix_fhir_idx_quantity_lookup", "resource_type", "param", "value"),
    Index("ix_fhir_idx_quantity_res", "res_pk"),
)

INDEX_TABLES = {
    "token": idx_token,
    "string": idx_string,
    "date": idx_date,
    "reference": idx_reference,
    "quantity": idx_quantity,
}
