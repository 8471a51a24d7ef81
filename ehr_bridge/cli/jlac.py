"""JLAC commands: ``jlac map`` (lab master → JLAC10/JLAC11) and ``jlac import-codebook``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ehr_bridge.cli.common import DbOption, fail, progress

jlac_app = typer.Typer(
    help="JLAC10/JLAC11 normalizer for hospital lab masters.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(jlac_app, name="jlac")


@jlac_app.command("map")
def map_master(
    input: Annotated[Path, typer.Argument(help="Lab master: CSV, TSV or XLSX with a header row.")],
    out: Annotated[Path, typer.Option("--out", help="Output TSV (UTF-8).")],
    db: DbOption = None,
    tables_dir: Annotated[
        str | None,
        typer.Option(help="Directory with code-book tables from `jlac import-codebook`."),
    ] = None,
) -> None:
    """Map every row of a lab master to JLAC10 (and JLAC11 where the product/unit allow)."""
    from mappings.jlac.mapper import Mapper
    from mappings.jlac.masterfile import MasterFileError, read_master, write_results
    from mappings.jlac.tables import load_tables

    try:
        rows = read_master(input)
    except MasterFileError as exc:
        raise fail(str(exc)) from None
    extra = tables_dir or _settings_tables_dir(db)
    mapper = Mapper(load_tables(extra))
    with progress() as bar:
        task = bar.add_task("jlac map", total=len(rows))
        results = list(mapper.map_rows(rows, progress=lambda i: bar.update(task, completed=i)))
    decisions = _decisions(db, input.name)
    if decisions:
        from mappings.jlac.review import apply_decisions

        results = apply_decisions(results, decisions)
    n = write_results(out, results)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("auto", "review", "unmapped")}
    typer.echo(
        f"mapped {n} rows: auto {counts['auto']}, review {counts['review']}, "
        f"unmapped {counts['unmapped']} -> {out}",
        err=True,
    )


def _decisions(db: str | None, master_name: str) -> dict:  # type: ignore[type-arg]
    """Review decisions of the master registered under this file name (only with --db)."""
    if not db:
        return {}
    try:
        from ehr_bridge.jlac.service import load_decisions
    except ImportError:
        return {}
    try:
        return load_decisions(db, master_name)
    except Exception as exc:  # noqa: BLE001 - a missing/locked DB must not stop mapping
        print(f"warning: review decisions not read ({type(exc).__name__})", file=sys.stderr)
        return {}


def _settings_tables_dir(db: str | None) -> str | None:
    from ehr_bridge.config import load_settings
    from ehr_bridge.jlac.jobs import tables_dir

    value = tables_dir(load_settings(db=db))
    return value if os.path.isdir(value) else None


@jlac_app.command("import-codebook")
def import_codebook_cmd(
    file: Annotated[Path, typer.Argument(help="JSLM JLAC10 code book xlsx (or a JLAC11 list).")],
    tables_dir: Annotated[
        str | None,
        typer.Option(help="Where to write the tables (default: settings jlac_tables_dir)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import the official JSLM code book so `jlac map` can use its analytes and methods."""
    from mappings.jlac.codebook import CodebookError, import_codebook

    target = tables_dir or _settings_dir_or_default(db)
    try:
        counts = import_codebook(file, target)
    except CodebookError as exc:
        raise fail(str(exc)) from None
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    typer.echo(f"imported {file.name} into {target}: {summary}")


def _settings_dir_or_default(db: str | None) -> str:
    from ehr_bridge.config import load_settings
    from ehr_bridge.jlac.jobs import tables_dir

    return tables_dir(load_settings(db=db))
