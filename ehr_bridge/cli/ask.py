"""`ehr-bridge ask`: Japanese question → JSON answer (CONTRACT §2)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Annotated

import typer

from ehr_bridge.cli.common import DbOption, fail

JST = timezone(timedelta(hours=9))


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)


def ask(
    question: Annotated[str, typer.Argument(help="The question, in Japanese.")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON answer.")] = False,
    now: Annotated[
        str | None, typer.Option(help="Fix the clock (ISO 8601, e.g. 2026-10-01T09:00:00+09:00).")
    ] = None,
    user: Annotated[str, typer.Option(help="User recorded in the audit log.")] = "cli",
    via: Annotated[
        str | None,
        typer.Option(help="Answer via 'sql' (store views, default) or 'fhir' (FHIR searches)."),
    ] = None,
    fhir_base: Annotated[
        str | None, typer.Option(help="FHIR R4 base URL for --via fhir (e.g. http://h:8000/fhir).")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Plan engine: rules, llm, or auto (rules, then the LLM when configured)."
        ),
    ] = None,
) -> None:
    """Answer a clinician's question from the store (read-only); shows the query used."""
    from ehr_bridge.config import load_settings

    overrides = {
        k: v for k, v in (("nl_via", via), ("nl_fhir_base", fhir_base), ("nl_engine", engine)) if v
    }
    try:
        settings = load_settings(db=db, **overrides)
    except ValueError as e:
        raise fail(f"invalid option: {e}") from None
    if settings.nl_via == "fhir" and not settings.nl_fhir_base:
        raise fail("--via fhir needs --fhir-base URL (or EHR_BRIDGE_NL_FHIR_BASE)")
    try:
        clock = datetime.fromisoformat(now) if now else datetime.now(JST)
    except ValueError:
        raise fail("--now must be ISO 8601, e.g. 2026-10-01T09:00:00+09:00") from None
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=JST)
    clock = clock.astimezone(JST)
    from ehr_bridge.nl_service import answer_question

    out = answer_question(question, settings, clock, user=user)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
    else:
        typer.echo(out["text"])
        for q in out["query"]["fhir"]:
            typer.echo(f"  FHIR: {q}")
