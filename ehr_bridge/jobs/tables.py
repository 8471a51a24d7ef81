"""Job tables (Alembic branch ``jobs``): ``job_runs`` history and ``job_locks``."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, Index, Integer, String, Table, Text

from ehr_bridge.store.base import metadata

PK = BigInteger().with_variant(Integer(), "sqlite")

runs_table = Table(
    "job_runs",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("job", String(100), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("owner", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime(timezone=False), nullable=False),
    Column("finished_at", DateTime(timezone=False), nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("stats", Text, nullable=False),
    Column("error", Text, nullable=False),
    Index("ix_job_runs_job", "job", "started_at"),
)

locks_table = Table(
    "job_locks",
    metadata,
    Column("job", String(100), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("run_id", PK, nullable=True),
    Column("acquired_at", DateTime(timezone=False), nullable=False),
    Column("heartbeat_at", DateTime(timezone=False), nullable=False),
)
