"""Connector state tables (Alembic branch ``sync``).

- ``sync_record``: per connector + record key, the fingerprint of the last converted version and
  the resources it produced (``Type/id`` list), so a new version replaces them and a deletion at
  the source deletes them; unchanged records are skipped on re-runs.
- ``sync_cursor``: per connector + scope, the last cursor reached.
- ``sync_quarantine``: records (or single files) that could not be converted: source ref, the
  segment/field, the reason (never patient data), open until a later run converts them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from ehr_bridge.store.base import metadata

PK = BigInteger().with_variant(Integer(), "sqlite")

record_table = Table(
    "sync_record",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("record_key", String(512), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("resources", Text, nullable=False),
    Column("source_ref", Text, nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
)

cursor_table = Table(
    "sync_cursor",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("scope", String(512), primary_key=True),
    Column("cursor", String(256), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
)

quarantine_table = Table(
    "sync_quarantine",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("connector", String(64), nullable=False),
    Column("scope", String(512), nullable=False),
    Column("record_key", String(512), nullable=False),
    Column("source_ref", String(1024), nullable=False),
    Column("location", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("first_seen", DateTime(timezone=False), nullable=False),
    Column("last_seen", DateTime(timezone=False), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("resolved", Boolean, nullable=False),
    Index("ix_sync_quarantine_source", "connector", "source_ref"),
    Index("ix_sync_quarantine_key", "connector", "record_key"),
)

# Incremental sync of storage connectors: per source folder (an SS-MIX2 patient folder), the
# signature (names, sizes, mtimes, inodes of everything below it) of the last version whose
# records were committed. A re-run re-reads only folders whose signature changed.
folder_table = Table(
    "sync_folder",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("scope", String(512), primary_key=True),
    Column("folder", String(512), primary_key=True),
    Column("signature", String(128), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
)

# The live MLLP feed's visit messages (ADT admissions, transfers, discharges...), per patient in
# the order received: the listener folds all of a patient's visit messages into one Encounter
# per visit, as the storage connector does with a patient's ADT files (a discharge message
# carries no admission time and no visit number in real feeds, so it cannot be converted alone).
mllp_visit_table = Table(
    "mllp_visit_message",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("patient_key", String(512), primary_key=True),
    Column("control_id", String(199), primary_key=True),
    Column("seq", Integer, nullable=False),  # receive order within the patient
    Column("kind", String(16), nullable=False),
    Column("source_ref", String(1024), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=False), nullable=False),
)
