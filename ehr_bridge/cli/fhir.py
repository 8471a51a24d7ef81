"""FHIR store commands: serve, import-fhir, export-fhir, db, demo, config."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ehr_bridge.cli.common import DbOption, fail, progress, settings_for

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "synthetic"
_PARALLEL_BYTES = 4_000_000  # inputs larger than this validate in a worker process


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("import-fhir")(import_fhir)
    app.command("export-fhir")(export_fhir)
    app.command("demo")(demo)
    db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    db_app.command("current")(db_current)
    app.add_typer(db_app, name="db")
    config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
    config_app.command("show")(config_show)
    app.add_typer(config_app, name="config")


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    db: DbOption = None,
) -> None:
    """Serve the FHIR R4 API under /fhir and the product endpoints until stopped."""
    settings = settings_for(db, host=host, port=port)
    _serve(settings)


def _serve(settings: Any) -> None:
    import uvicorn

    from ehr_bridge.api.app import create_app

    app = create_app(settings)
    scheduler = None
    if settings.scheduler_enabled:
        from ehr_bridge.jobs.scheduler import build_scheduler

        scheduler = build_scheduler(settings, app.state.store.engine)
        scheduler.start()
        jobs = ", ".join(f"{job.id} ({job.trigger})" for job in scheduler.get_jobs()) or "none"
        typer.echo(f"scheduler started; jobs: {jobs}", err=True)
    typer.echo(
        f"ehr-bridge serving http://{settings.host}:{settings.port}/fhir (Ctrl-C to stop)", err=True
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def import_fhir(
    paths: Annotated[
        list[Path], typer.Argument(help="NDJSON files, Bundle JSON files or folders of them.")
    ],
    db: DbOption = None,
    validate: Annotated[
        bool, typer.Option(help="Validate each resource against the FHIR R4 models.")
    ] = True,
) -> None:
    """Import FHIR resources keeping their ids. Bad lines are reported (file:line) and skipped; exit 3 then."""
    settings = settings_for(db)
    counts, problems = load_paths(settings.db, paths, validate=validate)
    _print_counts(counts)
    for problem in problems:
        typer.echo(f"skipped {problem}", err=True)
    if problems:
        typer.echo(f"{len(problems)} resource(s) skipped; everything else was stored.", err=True)
        raise typer.Exit(3)


def load_paths(
    db_url: str, paths: list[Path], *, validate: bool = True
) -> tuple[dict[str, dict[str, int]], list[Any]]:
    """Import files into the store; returns per-type counts and the input problems.

    Each chunk of up to 2,000 resources is one transaction. For big inputs on a multi-core
    machine, parsing and validation run in a worker process alongside the database writes.
    """
    import os

    from ehr_bridge.fhir_io import InputProblem, input_files, read_resource_chunks
    from ehr_bridge.store import open_store

    store = open_store(db_url)
    files = input_files(paths)
    problems: list[InputProblem] = []
    counts: dict[str, dict[str, int]] = {"_all": {"created": 0, "updated": 0, "unchanged": 0}}
    total_bytes = sum(f.stat().st_size for f in files if f.exists())
    workers = 1 if validate and (os.cpu_count() or 1) > 1 and total_bytes > _PARALLEL_BYTES else 0
    from ehr_bridge.bulk import bulk_gc

    with progress() as bar, bulk_gc():
        task = bar.add_task("importing", total=total_bytes)
        for nbytes, chunk in read_resource_chunks(
            files, problems, validate=validate, workers=workers
        ):
            bar.advance(task, nbytes)
            if not chunk:
                continue
            stats = store.upsert_many(p.resource for p in chunk)
            for parsed in chunk:
                counts.setdefault(parsed.resource["resourceType"], {"read": 0})["read"] += 1
            for key in ("created", "updated", "unchanged"):
                counts["_all"][key] += getattr(stats, key)
    return counts, problems


def _print_counts(counts: dict[str, dict[str, int]]) -> None:
    totals = counts.pop("_all", {})
    for rtype in sorted(counts):
        typer.echo(f"{rtype}\t{counts[rtype]['read']}")
    typer.echo(
        f"stored {sum(c['read'] for c in counts.values())} resources "
        f"(created {totals.get('created', 0)}, updated {totals.get('updated', 0)}, "
        f"unchanged {totals.get('unchanged', 0)})"
    )


def export_fhir(
    outdir: Annotated[Path, typer.Argument(help="Folder for <ResourceType>.ndjson files.")],
    db: DbOption = None,
) -> None:
    """Export every current resource as <ResourceType>.ndjson (FHIR Bulk Data layout)."""
    from ehr_bridge.fhir_io import write_ndjson
    from ehr_bridge.store import open_store

    settings = settings_for(db)
    store = open_store(settings.db)
    total = sum(store.counts().values())
    with progress() as bar:
        task = bar.add_task("exporting", total=total)

        def tick() -> Any:
            for resource in store.iter_all():
                bar.advance(task)
                yield resource

        counts = write_ndjson(outdir, tick())
    for rtype in sorted(counts):
        typer.echo(f"{rtype}\t{counts[rtype]}")
    typer.echo(f"exported {sum(counts.values())} resources to {outdir}")


def db_upgrade(db: DbOption = None) -> None:
    """Create or migrate the database schema to the newest revision."""
    from ehr_bridge.store.base import create_engine
    from ehr_bridge.store.migrate import current_revisions, upgrade

    settings = settings_for(db)
    engine = create_engine(settings.db)
    changed = upgrade(engine)
    typer.echo(
        ("upgraded to " if changed else "already at ")
        + ", ".join(sorted(current_revisions(engine)))
    )


def db_current(db: DbOption = None) -> None:
    """Show the schema revisions the database is at, and the newest ones."""
    from ehr_bridge.store.base import create_engine
    from ehr_bridge.store.migrate import current_revisions, head_revisions, is_up_to_date

    settings = settings_for(db)
    engine = create_engine(settings.db)
    current = current_revisions(engine)
    typer.echo(f"current: {', '.join(sorted(current)) or '(empty database)'}")
    typer.echo(f"newest:  {', '.join(sorted(head_revisions()))}")
    typer.echo("up to date" if is_up_to_date(engine) else "run `ehr-bridge db upgrade`")


def config_show() -> None:
    """Print the effective settings (secrets masked) and where each can be set."""
    from ehr_bridge.config import Settings
    from mappings import _native

    settings = settings_for(None)
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        typer.echo(f"{name} = {value!s}\t# EHR_BRIDGE_{name.upper()}: {field.description}")
    typer.echo(f"# hot modules: {_native.status()}\t# EHR_BRIDGE_NATIVE=0 uses the Python "
               "modules; python tools/build_native.py builds the compiled ones")  # fmt: skip


def demo(
    db: DbOption = None,
    data: Annotated[Path, typer.Option(help="Folder of NDJSON files to load.")] = EXAMPLES_DIR,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after loading.")
    ] = True,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Create the store, load the bundled synthetic data, show what is there, then serve the API."""
    from ehr_bridge.store import open_store

    settings = settings_for(db, host=host, port=port)
    if not data.is_dir():
        raise fail(f"no demo data at {data} (run examples/generate_synthetic.py)")
    typer.echo(f"loading synthetic JP Core data from {data} into {settings.db}")
    counts, problems = load_paths(settings.db, [data])
    _print_counts(counts)
    if problems:
        raise fail(f"{len(problems)} demo resources failed to load: {problems[0]}", 3)
    store = open_store(settings.db)
    typer.echo("\nwhat is in the store:")
    for rtype, n in store.counts().items():
        typer.echo(f"  {rtype:<20} {n:>7}")
    _demo_queries(store)
    _demo_questions(settings)
    if serve_api:
        typer.echo("")
        _serve(settings)
    sys.stdout.flush()


DEMO_NOW = "2025-03-31T09:00:00+09:00"  # the synthetic data's "today"


def _demo_questions(settings: Any) -> None:
    from datetime import datetime

    from ehr_bridge.nl_service import answer_question

    questions = [
        "糖尿病の患者は何人？",
        "70歳以上の高血圧の患者は何人？",
        "昨年度に入院した患者は何人？",
        "全患者の住所と電話番号を一覧にして",
    ]
    typer.echo(f"\nexample questions (ehr-bridge ask --now {DEMO_NOW}):")
    for question in questions:
        answer = answer_question(question, settings, datetime.fromisoformat(DEMO_NOW), user="demo")
        typer.echo(f"  「{question}」 → [{answer['status']}] {answer['text']}")


def _demo_queries(store: Any) -> None:
    examples = [
        ("Patient", [("gender", "female"), ("_summary", "count")], "女性の患者"),
        ("Patient", [("name", "さとう"), ("_summary", "count")], "カナ氏名「さとう」で始まる患者"),
        (
            "Observation",
            [
                ("code", "urn:oid:1.2.392.200119.4.504|3C015000002327101"),
                ("value-quantity", "ge1.2"),
                ("_summary", "count"),
            ],
            "クレアチニン ≥ 1.2 mg/dL の検査結果 (JLAC10, legacy OID form)",
        ),
        (
            "Condition",
            [("code", "E11.9"), ("_summary", "count")],
            "2型糖尿病 (ICD-10 E11.9) の病名",
        ),
        (
            "Encounter",
            [("class", "IMP"), ("date", "ge2024-04-01"), ("_summary", "count")],
            "2024年度以降の入院",
        ),
    ]
    typer.echo("\nexample searches:")
    for rtype, params, label in examples:
        result = store.search(rtype, params)
        query = "&".join(f"{k}={v}" for k, v in params)
        typer.echo(f"  {label}: {result.total}    GET /fhir/{rtype}?{query}")
