"""Shared CLI pieces: the ``--db`` option, settings, logging, progress bars on stderr."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="SQLAlchemy URL (default: EHR_BRIDGE_DB, else sqlite:///./ehr_bridge.db)."
    ),
]


def settings_for(db: str | None, **overrides: Any) -> Any:
    from ehr_bridge.config import load_settings

    settings = load_settings(db=db, **overrides)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "httpx", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def progress(transient: bool = False) -> Any:
    """A rich progress bar on stderr (disabled when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
