"""The scheduled ``ssmix2-sync`` job: an incremental sync of ``ssmix2_root`` on ``ssmix2_cron``.

Registered in the job registry of :mod:`ehr_bridge.jobs` (APScheduler with the job store in our
database; run history in ``job_runs``, shown by ``ehr-bridge jobs history`` and the API). The
registry imports this module through its ``_PROVIDERS`` list (``"ehr_bridge.sync.jobs"``).
Disabled while ``ssmix2_root`` is unset. Each run reads only the patient folders changed since
the previous run (:mod:`ehr_bridge.sync.storage`); its stats (records, converted, quarantined,
folders read/seen ...) are the run's history entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ehr_bridge.jobs.registry import JobSpec, register

JOB_NAME = "ssmix2-sync"


def ssmix2_sync(settings: Any, heartbeat: Callable[[], None]) -> dict[str, Any]:
    from pathlib import Path

    from connectors._sdk.errors import FatalError
    from connectors.ssmix2 import SSMix2Config, SSMix2Connector
    from ehr_bridge.store import open_store
    from ehr_bridge.sync.storage import sync_storage

    if not settings.ssmix2_root:
        raise FatalError("ssmix2_root is not set")
    root = Path(settings.ssmix2_root).resolve()
    connector = SSMix2Connector(
        SSMix2Config(
            root=str(root),
            facility_code=settings.facility_code,
            jp_core_uri_form=settings.jp_core_uri_form,
            local_system_base="urn:ehr-bridge:ssmix2:local:",
        )
    )
    report = sync_storage(
        open_store(settings.db, cached=True),
        connector,
        scope=str(root),
        workers=settings.ssmix2_workers,
        validate=settings.ssmix2_validate,
        sample_every=settings.ssmix2_sample_every,
        commit_seconds=settings.ssmix2_commit_seconds,
        write_behind=settings.pg_write_behind,
        on_batch=heartbeat,
    )
    return report.as_dict()


register(
    JobSpec(
        name=JOB_NAME,
        func=ssmix2_sync,
        cron_setting="ssmix2_cron",
        enabled=lambda s: bool(getattr(s, "ssmix2_root", None)),
        description="Incremental sync of the SS-MIX2 storage at ssmix2_root (changed patient "
        "folders only).",
    )
)
