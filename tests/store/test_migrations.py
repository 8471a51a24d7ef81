"""The Alembic revisions create exactly the tables the code declares (no drift), on both backends."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import ehr_bridge
from ehr_bridge.store import open_store
from ehr_bridge.store.base import metadata
from ehr_bridge.store.migrate import is_up_to_date


def _load_all_table_modules() -> None:
    for info in pkgutil.walk_packages(ehr_bridge.__path__, "ehr_bridge."):
        if info.name.endswith(("tables", "nl_audit")) or ".tables" in info.name:
            importlib.import_module(info.name)


def _declared():  # type: ignore[no-untyped-def]
    from sqlalchemy import MetaData

    _load_all_table_modules()
    combined = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(combined)
    try:
        from nl2query.views import views_metadata

        for table in views_metadata.sorted_tables:
            table.to_metadata(combined)
    except ImportError:
        pass
    return combined


def test_schema_matches_declared_tables(db_url: str) -> None:
    store = open_store(db_url)
    assert is_up_to_date(store.engine)
    declared = _declared()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, declared)
    # Only differences that matter: tables/columns/indexes missing or extra.
    relevant = [d for d in diffs if not (isinstance(d, tuple) and d[0] in ("add_fk", "remove_fk"))]
    assert relevant == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    from ehr_bridge.store.migrate import upgrade

    store = open_store(db_url)
    assert upgrade(store.engine) is False
