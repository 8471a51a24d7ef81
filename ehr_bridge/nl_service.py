"""Glue between nl2query and the store: engine per URL, audit record per question."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

_ENGINES: dict[str, Any] = {}
_FHIR: dict[str, Any] = {}


def engine_for(db_url: str) -> Any:
    eng = _ENGINES.get(db_url)
    if eng is None:
        from ehr_bridge.store import open_store

        eng = open_store(db_url, migrate=False).engine
        _ENGINES[db_url] = eng
    return eng


def fhir_executor_for(base_url: str, timeout_s: float = 10.0, max_pages: int = 50) -> Any:
    ex = _FHIR.get(base_url)
    if ex is None:
        from nl2query.execute_fhir import FhirExecutor

        ex = _FHIR[base_url] = FhirExecutor(base_url, timeout_s=timeout_s, max_pages=max_pages)
    return ex


def answer_question(
    question: str,
    db_url: str,
    now: datetime,
    user: str = "anonymous",
    fhir_base: str | None = None,
    fhir_timeout_s: float = 10.0,
    fhir_max_pages: int = 50,
) -> dict[str, Any]:
    """Answer on the store's SQL views, or through FHIR searches when ``fhir_base`` is given
    (the audit record still goes to the store at ``db_url``)."""
    from nl2query.pipeline import ask

    engine = engine_for(db_url)
    executor = fhir_executor_for(fhir_base, fhir_timeout_s, fhir_max_pages) if fhir_base else None
    outcome = ask(question, engine, now, executor=executor)
    try:
        from ehr_bridge.nl_audit import record

        record(engine, question, outcome, user)
    except Exception:  # audit must never leak values; log the key only
        log.warning("nl audit write failed", exc_info=False)
    return outcome.answer
