"""APScheduler 3 BackgroundScheduler with its job store in our database."""

from __future__ import annotations

import logging
from typing import Any

from ehr_bridge.jobs.registry import registered

log = logging.getLogger("ehr_bridge.jobs")
JOBSTORE_TABLE = "apscheduler_jobs"


def build_scheduler(settings: Any, engine: Any) -> Any:
    """A (not yet started) scheduler holding one cron job per enabled registered job."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone="Asia/Tokyo",
    )
    for name, spec in registered().items():
        if not spec.enabled(settings):
            continue
        cron = getattr(settings, spec.cron_setting)
        scheduler.add_job(
            "ehr_bridge.jobs.runner:scheduled_run",
            CronTrigger.from_crontab(cron, timezone="Asia/Tokyo"),
            args=[settings.db, name],
            id=name,
            name=name,
            replace_existing=True,
        )
    return scheduler


def next_runs(settings: Any, engine: Any) -> dict[str, str]:
    """Next fire time per registered job, from the cron settings (no scheduler started)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger

    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    out = {}
    for name, spec in registered().items():
        cron = getattr(settings, spec.cron_setting)
        nxt = CronTrigger.from_crontab(cron, timezone="Asia/Tokyo").get_next_fire_time(None, now)
        out[name] = f"{cron}  (next {nxt.isoformat() if nxt else '-'})"
    return out
