"""Run one job under a database-row lock and record it in ``job_runs``.

The lock is a row in ``job_locks`` (primary key = job name): inserting it is atomic on SQLite
and PostgreSQL, so two processes never run the same job at once. The running job refreshes
``heartbeat_at``; a lock whose heartbeat is older than ``stale_after_s`` belongs to a crashed
process: the next runner takes it over and marks that run ``abandoned``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ehr_bridge.jobs.registry import get
from ehr_bridge.jobs.tables import locks_table, runs_table

log = logging.getLogger("ehr_bridge.jobs")
STALE_AFTER_S = 600.0


@dataclass
class RunOutcome:
    run_id: int | None
    status: str  # ok | failed | skipped
    stats: dict[str, Any]
    duration_s: float


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def acquire(engine: Engine, job: str, owner: str, stale_after_s: float = STALE_AFTER_S) -> bool:
    now = _now()
    with engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(locks_table).values(
                        job=job, owner=owner, acquired_at=now, heartbeat_at=now
                    )
                )
            return True
        except IntegrityError:
            pass
        row = conn.execute(select(locks_table).where(locks_table.c.job == job)).first()
        if row is None or row.heartbeat_at > now - timedelta(seconds=stale_after_s):
            return False
        # stale lock of a crashed run: take it over (only if nobody else did meanwhile)
        taken = conn.execute(
            update(locks_table)
            .where((locks_table.c.job == job) & (locks_table.c.owner == row.owner))
            .values(owner=owner, acquired_at=now, heartbeat_at=now, run_id=None)
        ).rowcount
        if taken and row.run_id is not None:
            conn.execute(
                update(runs_table)
                .where((runs_table.c.id == row.run_id) & (runs_table.c.status == "running"))
                .values(status="abandoned", finished_at=now, error="lock holder stopped")
            )
            log.warning("job %s: took over a stale lock (run %s abandoned)", job, row.run_id)
        return bool(taken)


def release(engine: Engine, job: str, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(locks_table).where((locks_table.c.job == job) & (locks_table.c.owner == owner))
        )


def run_job(
    engine: Engine,
    name: str,
    settings: Any,
    trigger: str = "manual",
    stale_after_s: float = STALE_AFTER_S,
) -> RunOutcome:
    spec = get(name)
    owner = owner_id()
    if not acquire(engine, name, owner, stale_after_s):
        log.info("job %s already running elsewhere; skipped", name)
        return RunOutcome(None, "skipped", {}, 0.0)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(runs_table).values(
                job=name,
                trigger=trigger,
                owner=owner,
                status="running",
                started_at=_now(),
                stats="{}",
                error="",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            update(locks_table)
            .where((locks_table.c.job == name) & (locks_table.c.owner == owner))
            .values(run_id=run_id)
        )

    def heartbeat() -> None:
        with engine.begin() as conn:
            conn.execute(
                update(locks_table)
                .where((locks_table.c.job == name) & (locks_table.c.owner == owner))
                .values(heartbeat_at=_now())
            )

    status, stats, error = "ok", {}, ""
    try:
        stats = spec.func(settings, heartbeat) or {}
    except Exception as exc:  # noqa: BLE001 - recorded, never re-raised into the scheduler
        status, error = "failed", type(exc).__name__
        log.error("job %s failed: %s", name, type(exc).__name__)
    duration = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(
            update(runs_table)
            .where(runs_table.c.id == run_id)
            .values(
                status=status,
                finished_at=_now(),
                duration_s=round(duration, 3),
                stats=json.dumps(stats, ensure_ascii=False, default=str),
                error=error,
            )
        )
    release(engine, name, owner)
    return RunOutcome(int(run_id), status, stats, duration)


def history(engine: Engine, job: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    q = select(runs_table).order_by(runs_table.c.id.desc()).limit(limit)
    if job:
        q = q.where(runs_table.c.job == job)
    with engine.connect() as conn:
        out = []
        for r in conn.execute(q):
            d = dict(r._mapping)
            d["stats"] = json.loads(d["stats"] or "{}")
            out.append(d)
        return out


def scheduled_run(db_url: str, name: str) -> None:
    """Entry point APScheduler stores by reference (persistent job store needs a textual ref)."""
    from ehr_bridge.config import load_settings
    from ehr_bridge.store import open_store

    settings = load_settings(db=db_url)
    run_job(open_store(db_url, cached=True).engine, name, settings, trigger="schedule")
