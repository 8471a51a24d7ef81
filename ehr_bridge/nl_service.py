"""Glue between nl2query and the service: engines per setting, audit record per question.

The CLI (`ehr-bridge ask`), the API (`POST /nl/ask`) and the demo all answer through
:func:`answer_question`, so the engine choice (``nl_engine``: rules / llm / auto), the answer
path (``nl_via``: sql / fhir) and the audit record are the same everywhere.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

_FHIR: dict[tuple[str, float, int], Any] = {}
_LLM: dict[tuple[str, str, float, int], Any] = {}

LLM_NOT_CONFIGURED = (
    "LLMエンジンが指定されましたが、LLMサーバが設定されていません"
    "（EHR_BRIDGE_LLM_BASE_URL を設定してください）。"
)


def engine_for(db_url: str) -> Any:
    """The store's engine for ``db_url``, one per process (the store's own cache)."""
    from ehr_bridge.store import open_store

    return open_store(db_url, migrate=False, cached=True).engine


def fhir_executor_for(base_url: str, timeout_s: float = 10.0, max_pages: int = 50) -> Any:
    key = (base_url, timeout_s, max_pages)
    ex = _FHIR.get(key)
    if ex is None:
        from nl2query.execute_fhir import FhirExecutor

        ex = _FHIR[key] = FhirExecutor(base_url, timeout_s=timeout_s, max_pages=max_pages)
    return ex


def llm_planner_for(settings: Any) -> Any:
    """The LLM plan engine the settings ask for, or None (rules only / no server configured)."""
    if settings.nl_engine == "rules" or not settings.llm_base_url:
        return None
    key = (
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_timeout_s,
        settings.llm_max_repairs,
    )
    planner = _LLM.get(key)
    if planner is None:
        from nl2query.llm.bridge import LLMPlanner
        from nl2query.llm.config import LLMConfig

        planner = _LLM[key] = LLMPlanner(
            LLMConfig.model_validate(
                {
                    "base_url": settings.llm_base_url,
                    "model": settings.llm_model,
                    "api_key": settings.llm_api_key.get_secret_value(),
                    "timeout_s": settings.llm_timeout_s,
                    "max_repairs": settings.llm_max_repairs,
                }
            )
        )
    return planner


def answer_question(
    question: str,
    settings: Any,
    now: datetime,
    user: str = "anonymous",
    engine: Any = None,
) -> dict[str, Any]:
    """Answer per the settings; SQL on the store's views, or FHIR searches with ``nl_via=fhir``
    (the audit record always goes to the store)."""
    from nl2query.pipeline import ask, refusal

    engine = engine if engine is not None else engine_for(settings.db)
    llm = llm_planner_for(settings)
    if settings.nl_engine == "llm" and llm is None:
        return refusal(LLM_NOT_CONFIGURED, "llm")
    executor = None
    if settings.nl_via == "fhir" and settings.nl_fhir_base:
        executor = fhir_executor_for(
            settings.nl_fhir_base, settings.nl_fhir_timeout_s, settings.nl_fhir_max_pages
        )
    outcome = ask(
        question, engine, now, llm=llm, executor=executor, rules=settings.nl_engine != "llm"
    )
    try:
        from ehr_bridge.nl_audit import record

        record(engine, question, outcome, user)
    except Exception:  # audit must never leak values; log the kind only
        log.warning("nl audit write failed")
    return outcome.answer
