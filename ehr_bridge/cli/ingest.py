"""`ehr-bridge ingest ss-mix2 ROOT` and `ehr-bridge quarantine list|retry`.

Exit status of ``ingest``: 0 all converted, 3 finished with quarantined records.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ehr_bridge.cli.common import DbOption, fail, settings_for

if TYPE_CHECKING:
    from connectors.ssmix2 import SSMix2Connector
    from ehr_bridge.sync.storage import Progress

EXIT_QUARANTINED = 3


class ProgressLine:
    """Prints a sync's progress to stderr, e.g. ``ss-mix2: 4,000/10,000 folders walked (3,950
    changed), 39,500 records, 2,031 records/s, 2 quarantined, 0:29 left``. Counts only: no
    patient IDs or paths."""

    def __init__(self, folders_total: int) -> None:
        self.total = folders_total

    def __call__(self, p: Progress) -> None:
        rate = p.records / p.elapsed_s if p.elapsed_s > 0 else 0.0
        line = (f"ss-mix2: {p.folders_seen:,}/{self.total:,} folders walked "
                f"({p.folders_read:,} changed), {p.records:,} records, {rate:,.0f} records/s, "
                f"{p.quarantined:,} quarantined")  # fmt: skip
        if p.done:
            line += f", done in {_clock(p.elapsed_s)}"
        elif 0 < p.folders_seen < self.total:
            left = p.elapsed_s / p.folders_seen * (self.total - p.folders_seen)
            line += f", {_clock(left)} left"
        typer.echo(line, err=True)


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def register(app: typer.Typer) -> None:
    ingest_app = typer.Typer(help="Ingest a source through its connector.", no_args_is_help=True)
    ingest_app.command("ss-mix2")(ingest_ssmix2)
    app.add_typer(ingest_app, name="ingest")
    q_app = typer.Typer(help="Records that could not be converted.", no_args_is_help=True)
    q_app.command("list")(quarantine_list)
    q_app.command("retry")(quarantine_retry)
    app.add_typer(q_app, name="quarantine")


FacilityOption = Annotated[
    str | None,
    typer.Option(
        help="医療機関コード (10 digits) for patient identifier systems (default: setting facility_code)."
    ),
]


def _ssmix2(root: Path, settings: object, facility_code: str | None) -> SSMix2Connector:
    from connectors.ssmix2 import SSMix2Config, SSMix2Connector

    cfg = SSMix2Config(
        root=str(root.resolve()),
        facility_code=facility_code
        if facility_code is not None
        else getattr(settings, "facility_code", ""),
        jp_core_uri_form=getattr(settings, "jp_core_uri_form", "url"),
        local_system_base="urn:ehr-bridge:ssmix2:local:",
    )
    return SSMix2Connector(cfg)


def ingest_ssmix2(
    root: Annotated[Path, typer.Argument(help="SS-MIX2 storage root (standard or extended).")],
    db: DbOption = None,
    facility_code: FacilityOption = None,
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Skip FHIR model validation.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Read every patient folder, not only the changed ones."),
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: setting ssmix2_workers).")
    ] = None,
    validate: Annotated[
        str | None,
        typer.Option(
            help="Checks of converted resources (default: setting ssmix2_validate, 'full'). "
            "'full': every resource against the FHIR R4 models; about 12 % of the CPU of a "
            "bulk ingest (benchmarks/RESULTS-ssmix2.md). 'sample': a structural check of every "
            "resource (ids, references, no empty values) plus full validation of one resource "
            "in ssmix2_sample_every (by id, so the same ones each run): about 7 % faster, but "
            "a converter defect that only some inputs trigger can be stored unnoticed. "
            "'none': no checks. A failing record is quarantined."
        ),
    ] = None,
    progress: Annotated[
        float,
        typer.Option(
            help="Seconds between progress lines on stderr (folders walked of the total, "
            "records, rate, quarantined, time left); 0: none.",
            min=0,
        ),
    ] = 5.0,
) -> None:
    """Ingest an SS-MIX2 storage tree; unconvertible files go to quarantine.

    Incremental: only patient folders changed since the last run are read (``--full`` reads
    all; unchanged records are skipped by content fingerprint either way)."""
    settings = settings_for(db)
    if not root.is_dir():
        raise fail(f"storage root {root} is not a directory")
    mode = "none" if no_validate else (validate or settings.ssmix2_validate)
    if mode not in ("full", "sample", "none"):
        raise fail("--validate must be full, sample or none")
    from ehr_bridge.store import open_store
    from ehr_bridge.sync.storage import sync_storage

    store = open_store(settings.db)
    connector = _ssmix2(root, settings, facility_code)
    on_progress = None
    if progress > 0:
        # the total costs a walk of the prefix folders only (not of the patient folders)
        on_progress = ProgressLine(sum(1 for _ in connector.folders()))
    report = sync_storage(
        store,
        connector,
        scope=str(root.resolve()),
        full=full,
        workers=settings.ssmix2_workers if workers is None else workers,
        validate=mode,  # type: ignore[arg-type]
        sample_every=settings.ssmix2_sample_every,
        commit_seconds=settings.ssmix2_commit_seconds,
        write_behind=settings.pg_write_behind,
        on_progress=on_progress,
        progress_every_s=progress,
    )
    r = report.as_dict()
    typer.echo(
        f"records={r['records']} converted={r['converted']} skipped={r['skipped']} "
        f"deleted_records={r['deleted_records']} quarantined={r['quarantined']} "
        f"created={r['created']} updated={r['updated']} unchanged={r['unchanged']} "
        f"deleted={r['deleted_resources']} warnings={r['warnings']} "
        f"folders={r['folders_read']}/{r['folders_seen']}"
    )
    for ref in report.quarantined_refs:
        typer.echo(f"quarantined: {ref}", err=True)
    for kind, count in report.warning_kinds.most_common():
        examples = ", ".join(report.warning_refs.get(kind, []))
        typer.echo(f"warning ×{count}: {kind} (e.g. {examples})", err=True)
    if report.unmapped:
        counts = ", ".join(f"{name} ×{n}" for name, n in report.unmapped.most_common())
        typer.echo(f"present but not mapped (records): {counts}", err=True)
    if report.quarantined:
        raise typer.Exit(EXIT_QUARANTINED)


def quarantine_list(
    db: DbOption = None,
    connector: Annotated[str | None, typer.Option(help="Only this connector.")] = None,
) -> None:
    """List open quarantine entries: source file, segment/field, reason."""
    settings = settings_for(db)
    from ehr_bridge.store import open_store
    from ehr_bridge.sync.loop import open_quarantine

    rows = open_quarantine(open_store(settings.db), connector)
    if not rows:
        typer.echo("quarantine is empty")
        return
    for r in rows:
        typer.echo(
            f"{r['id']}\t{r['connector']}\t{r['source_ref']}\t{r['location'] or '-'}\t{r['reason']}"
            f"\tattempts={r['attempts']}"
        )
    typer.echo(f"{len(rows)} open")


def quarantine_retry(
    db: DbOption = None,
    facility_code: FacilityOption = None,
) -> None:
    """Re-read and re-convert every open quarantine entry (after fixing the source)."""
    settings = settings_for(db)
    from ehr_bridge.store import open_store
    from ehr_bridge.sync.loop import SyncLoop, open_quarantine

    store = open_store(settings.db)
    scopes = sorted({(r["connector"], r["scope"]) for r in open_quarantine(store)})
    still = 0
    for name, scope in scopes:
        if name != "ss-mix2":
            typer.echo(f"skipping {name}: no retry support in the CLI", err=True)
            continue
        loop = SyncLoop(
            store,
            _ssmix2(Path(scope), settings, facility_code),
            scope=scope,
            write_behind=settings.pg_write_behind,
        )
        rep = loop.retry()
        typer.echo(
            f"{scope}: retried={rep.records} converted={rep.converted} quarantined={rep.quarantined}"
        )
        still += rep.quarantined
    if still:
        raise typer.Exit(EXIT_QUARANTINED)
