"""Glue between nl2query and the store: engine per URL, audit record per question."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

_ENGINES: dict[str, Any] = {}


def engine_for(db_url: str) -> Any:
    eng = _ENGINES.get(db_url)
    if eng is None:
        from ehr_bridge.store import open_store

        eng = open_store(db_url, migrate=False).engine
        _ENGINES[db_url] = eng
    return eng


def answer_question(
    question: str, db_url: str, now: datetime, user: str = "anonymous"
) -> dict[str, Any]:
    from nl2query.pipeline import ask

    engine = engine_for(db_url)
    outcome = ask(question, engine, now)
    try:
        from ehr_bridge.nl_audit import record

        record(engine, question, outcome, user)
    except Exception:  # audit must never leak values; log the key only
        log.warning("nl audit write failed", exc_info=False)
    return outcome.answer
