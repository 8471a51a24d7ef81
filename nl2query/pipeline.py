"""Question → safety → plan (rules, else LLM) → SQL on the flat views → JSON answer (CONTRACT §2)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine

from nl2query.ir import QueryPlan

if TYPE_CHECKING:
    from nl2query.execute import Result


class PlanEngine(Protocol):
    def plan(self, question: str, now: datetime) -> QueryPlan | None: ...


class Executor(Protocol):
    """Runs a plan somewhere other than the store's SQL (e.g. FHIR searches); same Result."""

    def __call__(self, plan: QueryPlan, now: datetime) -> Result: ...


@dataclass
class Outcome:
    answer: dict[str, Any]
    plan: QueryPlan | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    rows: int = 0


def _empty(status: str, text: str, engine: str) -> dict[str, Any]:
    return {
        "status": status,
        "answer_type": "none",
        "count": None,
        "patients": [],
        "values": [],
        "boolean": None,
        "text": text,
        "query": {"fhir": [], "sql": None},
        "engine": engine,
    }


def refusal(text: str, engine: str = "rules") -> dict[str, Any]:
    """A ``refused`` answer in the contract's shape (no query was run)."""
    return _empty("refused", text, engine)


def _safety(question: str) -> tuple[str, str] | None:
    """Seam to nl2query.safety (owned by the safety module)."""
    try:
        from nl2query import safety
    except ImportError:  # pragma: no cover - module always present in this repo
        return None
    v = safety.check(question)
    if v is None:
        return None
    return v.status, v.reason


def ask(
    question: str,
    engine: Engine | None,
    now: datetime,
    llm: PlanEngine | None = None,
    clock: Callable[[], float] = time.perf_counter,
    executor: Executor | None = None,
    rules: bool = True,
) -> Outcome:
    """Answer ``question``: SQL on ``engine``'s flat views, or ``executor`` (e.g. FHIR) if given.

    The deterministic parser plans first (``rules=False`` skips it: LLM only); when it cannot
    build a complete plan, ``llm`` (if given) is asked. Safety checks run before either.
    """
    t0 = clock()
    tm: dict[str, float] = {}
    verdict = _safety(question)
    tm["safety"] = (clock() - t0) * 1000
    if verdict is not None:
        status, reason = verdict
        return Outcome(_empty(status, reason, "rules"), None, tm)
    from nl2query.parse_rules import Incomplete, parse

    t1 = clock()
    engine_name = "rules"
    plan: QueryPlan | None = None
    why = ""
    if rules:
        try:
            plan = parse(question, now)
        except Incomplete as e:
            plan, why = None, str(e)
    tm["parse"] = (clock() - t1) * 1000
    if plan is None and llm is not None:
        t2 = clock()
        plan = llm.plan(question, now)
        engine_name = "llm"
        tm["llm"] = (clock() - t2) * 1000
    if plan is None:
        text = "この質問はデータから確実に答えられる形に解釈できませんでした。検査名・薬剤名・病名・期間・患者番号を具体的に指定してください。"
        return Outcome(
            _empty("refused", text, engine_name), None, {**tm, "why": 0.0} if why else tm
        )
    if plan.intent == "answer":
        from nl2query.resolve.fallback import verify

        plan = verify(plan, engine)
    if plan.intent != "answer":
        status = "clarify" if plan.intent == "clarify" else "refused"
        return Outcome(_empty(status, plan.reason or "", engine_name), plan, tm)
    return run_plan(plan, engine, now, engine_name, tm, executor)


def run_plan(
    plan: QueryPlan,
    engine: Engine | None,
    now: datetime,
    engine_name: str,
    tm: dict[str, float],
    executor: Executor | None = None,
) -> Outcome:
    from nl2query.answer import render
    from nl2query.compile_fhir import compile_fhir
    from nl2query.execute import NeedsClarify, SourceError, execute

    t = time.perf_counter()
    try:
        if executor is not None:
            res = executor(plan, now)
        else:
            assert engine is not None, "the SQL path needs an engine"
            res = execute(plan, engine, now)
    except NeedsClarify as e:
        tm["execute"] = (time.perf_counter() - t) * 1000
        return Outcome(_empty("clarify", str(e), engine_name), plan, tm)
    except SourceError as e:
        tm["execute"] = (time.perf_counter() - t) * 1000
        text = f"データソースに問い合わせできませんでした（{e}）。"
        return Outcome(_empty("refused", text, engine_name), plan, tm)
    tm["execute"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    if res.fhir is not None:  # the FHIR searches actually run
        fhir, sql = res.fhir, None
    else:
        fhir, sql = compile_fhir(plan, res.patient_id, now.date()), "\n;\n".join(res.sql)
    tm["compile"] = (time.perf_counter() - t) * 1000
    out = _empty("answered", render(plan, res), engine_name)
    out.update(
        answer_type=res.answer_type,
        count=res.count if res.answer_type in ("count", "patients") else None,
        patients=res.patients,
        values=res.values,
        boolean=res.boolean,
        query={"fhir": fhir, "sql": sql},
    )
    if res.answer_type == "patients":
        out["count"] = len(res.patients)
    return Outcome(out, plan, tm, res.rows)
