"""JLAC service tables (Alembic branch ``jlac``).

- ``jlac_master``: a registered hospital lab master (name, content hash, last mapping state).
- ``jlac_master_row``: its rows (local code, name, specimen, unit, method, category).
- ``jlac_result``: the latest mapping of each row (status auto/review/unmapped, candidates JSON).
- ``jlac_decision``: review decisions (accept/override) that win on every later run.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, ForeignKey, Integer, String, Table, Text

from ehr_bridge.store.base import metadata

PK = BigInteger().with_variant(Integer(), "sqlite")

master_table = Table(
    "jlac_master",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("content_hash", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    Column("mapped_hash", String(64), nullable=True),
    Column("mapped_tables", String(64), nullable=True),
    Column("mapped_at", DateTime(timezone=False), nullable=True),
)

master_row_table = Table(
    "jlac_master_row",
    metadata,
    Column("master_id", PK, ForeignKey("jlac_master.id", ondelete="CASCADE"), primary_key=True),
    Column("local_code", String(100), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("local_name", String(500), nullable=False),
    Column("specimen", String(200), nullable=False),
    Column("unit", String(100), nullable=False),
    Column("method", String(500), nullable=False),
    Column("category", String(200), nullable=False),
)

result_table = Table(
    "jlac_result",
    metadata,
    Column("master_id", PK, ForeignKey("jlac_master.id", ondelete="CASCADE"), primary_key=True),
    Column("local_code", String(100), primary_key=True),
    Column("jlac10", String(17), nullable=False),
    Column("jlac11", String(17), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("candidates", Text, nullable=False),
    Column("mapped_at", DateTime(timezone=False), nullable=False),
)

decision_table = Table(
    "jlac_decision",
    metadata,
    Column("master_id", PK, ForeignKey("jlac_master.id", ondelete="CASCADE"), primary_key=True),
    Column("local_code", String(100), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("jlac10", String(17), nullable=False),
    Column("jlac11", String(17), nullable=False),
    Column("decided_by", String(100), nullable=False),
    Column("decided_at", DateTime(timezone=False), nullable=False),
)
