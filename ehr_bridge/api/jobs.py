"""Batch jobs over HTTP: what is scheduled, run history, and run-now (for operators)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ehr_bridge.store.errors import NotFound

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("")
def list_jobs(request: Request) -> dict[str, Any]:
    """Registered jobs with their cron schedule, next fire time and whether they are enabled."""
    from ehr_bridge.jobs.registry import registered
    from ehr_bridge.jobs.scheduler import next_runs

    settings = request.app.state.settings
    schedule = next_runs(settings, None)
    return {
        "jobs": [
            {
                "name": name,
                "schedule": schedule[name],
                "enabled": spec.enabled(settings),
                "description": spec.description,
            }
            for name, spec in sorted(registered().items())
        ]
    }


@router.get("/history")
def job_history(request: Request, job: str | None = None, limit: int = 20) -> dict[str, Any]:
    """Most recent runs (newest first): status, trigger, duration and counts."""
    from ehr_bridge.jobs.runner import history

    runs = history(request.app.state.store.engine, job, max(1, min(limit, 500)))
    for run in runs:
        for key in ("started_at", "finished_at"):
            if run.get(key) is not None:
                run[key] = run[key].isoformat()
    return {"runs": runs}


@router.post("/{name}/run")
async def run_now(name: str, request: Request) -> dict[str, Any]:
    """Run a job now (in a worker thread); ``skipped`` when it is already running elsewhere."""
    from ehr_bridge.jobs.registry import registered
    from ehr_bridge.jobs.runner import run_job

    if name not in registered():
        raise NotFound(f"no job named {name!r}")
    settings = request.app.state.settings
    engine = request.app.state.store.engine
    outcome = await asyncio.to_thread(run_job, engine, name, settings)
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "stats": outcome.stats,
        "duration_s": round(outcome.duration_s, 3),
    }
