"""`ehr-bridge listen mllp --port N`: receive JAHIS HL7 v2.5 messages over MLLP, store them,
answer ACK/NAK (only after the message is committed)."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from ehr_bridge.cli.common import DbOption, settings_for


def register(app: typer.Typer) -> None:
    listen_app = typer.Typer(help="Receive messages from a live feed.", no_args_is_help=True)
    listen_app.command("mllp")(listen_mllp)
    app.add_typer(listen_app, name="listen")


def listen_mllp(
    port: Annotated[int | None, typer.Option(help="TCP port (default: setting mllp_port).")] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: setting mllp_host).")
    ] = None,
    db: DbOption = None,
    facility_code: Annotated[
        str | None, typer.Option(help="医療機関コード (default: setting facility_code).")
    ] = None,
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Skip FHIR model validation.")
    ] = False,
) -> None:
    """Listen for MLLP-framed HL7 v2.5 messages until interrupted (Ctrl-C)."""
    settings = settings_for(db)
    import asyncio

    from connectors.mllp import MllpConfig, MllpServer
    from ehr_bridge.listen import MllpIngest
    from ehr_bridge.store import open_store

    bind_host = host or settings.mllp_host
    bind_port = settings.mllp_port if port is None else port
    cfg = MllpConfig(
        host=bind_host,
        port=bind_port,
        facility_code=settings.facility_code if facility_code is None else facility_code,
        jp_core_uri_form=settings.jp_core_uri_form,
        local_system_base="urn:ehr-bridge:ssmix2:local:",
    )
    handler = MllpIngest(open_store(settings.db), cfg, validate=not no_validate)
    server = MllpServer(handler, bind_host, bind_port)

    async def main() -> None:
        bound = await server.start()
        typer.echo(f"listening for MLLP on {bind_host}:{bound}", err=True)
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    c = handler.counts
    typer.echo(f"stopped: AA={c['AA']} AE={c['AE']} AR={c['AR']}", err=True)
