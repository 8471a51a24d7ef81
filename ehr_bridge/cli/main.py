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
]


def _load_features() -> None:
    for name in _FEATURES:
        module = importlib.import_module(f"ehr_bridge.cli.{name}")
        module.register(app)


def run() -> None:
    _load_features()
    app()


if __name__ == "__main__":
    run()
