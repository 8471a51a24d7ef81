"""Scheduled job commands: ``jobs list``, ``jobs run NAME``, ``jobs history``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ehr_bridge.cli.common import DbOption, fail, settings_for

jobs_app = typer.Typer(help="Scheduled jobs (run inside `ehr-bridge serve`).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def list_jobs(db: DbOption = None) -> None:
    """Registered jobs with their cron schedule and next fire time."""
    from ehr_bridge.jobs.registry import registered
    from ehr_bridge.jobs.scheduler import next_runs

    settings = settings_for(db)
    schedule = next_runs(settings, None)
    for name, spec in sorted(registered().items()):
        typer.echo(f"{name}\t{schedule[name]}\t{spec.description}")


@jobs_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="Job name (see `jobs list`).")],
    db: DbOption = None,
) -> None:
    """Run a job now (skipped when the same job is already running elsewhere)."""
    from ehr_bridge.jobs.runner import run_job
    from ehr_bridge.store import open_store

    settings = settings_for(db)
    try:
        out = run_job(open_store(settings.db).engine, name, settings)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    typer.echo(json.dumps({"run_id": out.run_id, "status": out.status, **out.stats}))
    if out.status == "failed":
        raise typer.Exit(1)


@jobs_app.command("history")
def history(
    name: Annotated[str | None, typer.Argument(help="Only this job.")] = None,
    limit: Annotated[int, typer.Option(help="Most recent runs to show.")] = 20,
    db: DbOption = None,
) -> None:
    """Run history: status, duration and counts."""
    from ehr_bridge.jobs.runner import history as runs
    from ehr_bridge.store import open_store

    settings = settings_for(db)
    for r in runs(open_store(settings.db).engine, name, limit):
        typer.echo(
            f"{r['id']}\t{r['job']}\t{r['trigger']}\t{r['status']}\t{r['started_at']:%Y-%m-%d %H:%M:%S}"
            f"\t{r['duration_s'] if r['duration_s'] is not None else '-'}s\t"
            f"{json.dumps(r['stats'], ensure_ascii=False)}"
        )
