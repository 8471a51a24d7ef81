"""The JLAC re-mapping job: re-map registered masters whose rows or code tables changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ehr_bridge.jobs.registry import JobSpec, register


def tables_dir(settings: Any) -> str:
    """Code-book tables directory (setting ``jlac_tables_dir``)."""
    return str(settings.jlac_tables_dir)


def remap_changed(settings: Any, heartbeat: Callable[[], None]) -> dict[str, Any]:
    import os

    from sqlalchemy import select

    from ehr_bridge.jlac.service import map_master, needs_mapping
    from ehr_bridge.jlac.tables import master_table
    from ehr_bridge.store import open_store
    from mappings.jlac.tables import load_tables

    extra = tables_dir(settings)
    tables = load_tables(extra if extra and os.path.isdir(extra) else None)
    engine = open_store(settings.db, cached=True).engine
    with engine.connect() as conn:
        masters = list(conn.execute(select(master_table)))
    totals = {"masters": 0, "rows": 0, "auto": 0, "review": 0, "unmapped": 0, "skipped": 0}
    for m in masters:
        if not needs_mapping(m, tables):
            totals["skipped"] += 1
            continue
        s = map_master(engine, int(m.id), tables)
        heartbeat()
        totals["masters"] += 1
        for k in ("rows", "auto", "review", "unmapped"):
            totals[k] += getattr(s, k)
    return totals


register(
    JobSpec(
        name="jlac-remap",
        func=remap_changed,
        cron_setting="jlac_cron",
        description="Re-map registered lab masters when they or the JLAC code tables change.",
    )
)
