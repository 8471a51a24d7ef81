"""`ehr-bridge` command line: the root app.

Each feature lives in its own module under ``ehr_bridge/cli/`` and adds its commands through a
``register(app)`` function listed in ``_FEATURES``. Heavy imports happen inside the command
functions, never at module import, so ``ehr-bridge ask`` starts fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="ehr-bridge",
    help="ehr-bridge: SS-MIX2/HL7 connectors to JP Core FHIR, FHIR store and API, "
    "Japanese questions, JLAC mapping.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Modules under ehr_bridge.cli that define ``register(app: typer.Typer) -> None``.
_FEATURES = [
    "fhir",  # serve, import-fhir, export-fhir, db, demo, config
    "ask",  # ask (nl2query)
    "jlac",  # jlac map, jlac import-codebook
    "jobs",  # jobs list, jobs run, jobs history
    "connectors",  # connectors list, connectors describe
    "ingest",  # ingest ss-mix2, quarantine list, quarantine retry
    "listen",  # listen mllp
]


def _load_features() -> None:
    for name in _FEATURES:
        module = importlib.import_module(f"ehr_bridge.cli.{name}")
        module.register(app)


def run() -> None:
    _load_features()
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except Exception as exc:  # last resort: a clear message, never a traceback with data in it
        _report_unexpected(exc)
        raise SystemExit(1) from None


def _report_unexpected(exc: Exception) -> None:
    import logging
    import os

    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    if isinstance(exc, OperationalError):
        typer.echo(
            "error: cannot use the database (check --db / EHR_BRIDGE_DB and that the "
            f"server is running): {type(exc.orig).__name__}",
            err=True,
        )
    elif isinstance(exc, SQLAlchemyError):
        typer.echo(f"error: database error ({type(exc).__name__})", err=True)
    else:
        typer.echo(
            f"error: unexpected {type(exc).__name__}; run with EHR_BRIDGE_DEBUG=1 "
            "for the traceback",
            err=True,
        )
    if os.environ.get("EHR_BRIDGE_DEBUG"):
        logging.getLogger("ehr_bridge").exception("unexpected error")


if __name__ == "__main__":
    run()
