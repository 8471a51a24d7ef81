"""Alembic environment: runs on the connection handed over by ``ehr_bridge.store.migrate``."""

from __future__ import annotations

from alembic import context

from ehr_bridge.store.base import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always invoked through ehr_bridge.store.migrate
    raise RuntimeError("run migrations through `ehr-bridge db upgrade`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
