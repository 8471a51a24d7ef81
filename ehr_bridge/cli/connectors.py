"""`ehr-bridge connectors list` and `connectors describe NAME`."""

from __future__ import annotations

from typing import Annotated

import typer

from ehr_bridge.cli.common import fail


def register(app: typer.Typer) -> None:
    c_app = typer.Typer(help="Registered connectors (entry points).", no_args_is_help=True)
    c_app.command("list")(connectors_list)
    c_app.command("describe")(connectors_describe)
    app.add_typer(c_app, name="connectors")


def connectors_list() -> None:
    """List registered connectors (entry-point group ehr_bridge.connectors)."""
    from connectors._sdk.base import available_connectors

    eps = available_connectors()
    for name in sorted(eps):
        typer.echo(f"{name}\t{eps[name].value}")


def connectors_describe(name: Annotated[str, typer.Argument(help="Connector name.")]) -> None:
    """Show a connector's documentation and its config fields with their docs."""
    from connectors._sdk.base import config_fields, load_connector_class

    try:
        cls = load_connector_class(name)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    typer.echo(f"{name}: {(cls.__doc__ or '').strip().splitlines()[0] if cls.__doc__ else ''}")
    typer.echo("config fields:")
    for fname, ftype, default, desc in config_fields(cls):
        typer.echo(f"  {fname} ({ftype}, default {default})\n      {desc}")
