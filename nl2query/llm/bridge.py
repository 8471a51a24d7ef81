"""The LLM engine as a pipeline plan engine: ``plan(question, now) -> QueryPlan``.

The model only names things (concept words, time expressions); this adapter links them with
the same tables and clock rules as the rules parser (``nl2query.resolve``). A concept or time
expression that does not resolve goes back to the model as a repair error. Transport and
validation failures become a ``refuse`` plan whose reason is the Japanese error message
(「LLMサーバに接続できません…」), so the caller shows it and nothing runs.
"""

from __future__ import annotations

from datetime import datetime

from nl2query.execute import OBSERVATION_AGGREGATES, PATIENT_SHAPES, answers_patient_shape
from nl2query.ir import Concept, Criterion, Period, QueryPlan
from nl2query.textnorm import nfkc, norm

from .client import LLMEngine, LLMResult
from .config import LLMConfig
from .errors import LLMError


def _link_concept(c: Concept) -> Concept:
    if c.codes:
        return c
    from nl2query.resolve.terms import display_concept, find_allergen, find_mentions, to_concept

    qn = norm(c.text)
    mentions = find_mentions(qn)
    same = [m for m in mentions if m.kind == c.kind]
    pick = same[0] if same else (mentions[0] if len(mentions) == 1 else None)
    if pick is not None:
        linked = to_concept(pick.kind, pick.key, c.text)
        if c.component and not linked.component:
            linked = linked.model_copy(update={"component": c.component})
        return linked
    if c.kind == "allergen":
        key = find_allergen(qn)
        if key is not None:
            try:
                return to_concept("allergen", key, c.text)
            except KeyError:
                pass
    if not qn:
        raise ValueError("concept.text が空です (empty concept text)")
    return display_concept(c.kind, c.text)


def _link_period(p: Period | None, now: datetime) -> Period | None:
    if p is None or (p.start or p.end) or not p.text:
        return p
    from nl2query.resolve.time import find_period

    hit = find_period(nfkc(p.text), now)
    if hit is None:
        raise ValueError(
            f"period.text '{p.text[:20]}' を日付にできません。'先月' '令和6年度' '直近3か月' "
            "のような表現か、start/end (YYYY-MM-DD) を入れてください"
        )
    return hit.period


def check_shape(plan: QueryPlan) -> None:
    """Plan shapes the executor answers; anything else goes back to the model as an error."""
    if plan.intent != "answer" or plan.patient is None:
        return
    subj, agg = plan.subject, plan.aggregate
    if agg == "exists" and subj not in ("Patient", "MedicationRequest"):
        raise ValueError(
            "患者の有無の質問 (aggregate=exists) は subject='Patient' にし、条件を criteria "
            "(condition / allergy / lab_any / currently_admitted など) で表してください"
        )
    if (
        subj == "Observation"
        and agg in OBSERVATION_AGGREGATES
        and not any(c.kind == "lab" for c in plan.concepts)
    ):
        raise ValueError(
            "subject='Observation' の質問には concepts に検査名 (kind='lab') が必要です"
        )
    if agg in ("daily_dose", "single_dose") and not any(
        c.kind == "medication" for c in plan.concepts
    ):
        raise ValueError(f"aggregate={agg} には concepts に薬剤名 (kind='medication') が必要です")
    if agg in ("daily_dose", "single_dose", "distinct_count") and subj != "MedicationRequest":
        raise ValueError(f"aggregate={agg} は subject='MedicationRequest' にしてください")
    if agg == "day_of_stay" and subj != "Encounter":
        raise ValueError("aggregate=day_of_stay は subject='Encounter' にしてください")
    if subj in ("Condition", "AllergyIntolerance"):
        raise ValueError(
            f"subject='{subj}' は使えません。subject='Patient' と criteria で表してください"
        )
    if not answers_patient_shape(subj, agg):
        allowed = ", ".join(sorted(PATIENT_SHAPES.get(subj, frozenset({"age"}))))
        hint = ""
        if any(c.kind == "lab" for c in plan.concepts) and subj != "Observation":
            hint = "。検査値の質問は subject='Observation' にしてください"
        raise ValueError(
            f"患者を指定した subject='{subj}' の質問で aggregate={agg} は使えません"
            f"（使えるのは {allowed}）{hint}"
        )


def link(plan: QueryPlan, now: datetime) -> QueryPlan:
    """Concepts → codes and time expressions → JST dates (raises ValueError when impossible)."""
    if plan.intent != "answer":
        return plan
    check_shape(plan)
    crit: list[Criterion] = []
    for cr in plan.criteria:
        upd: dict[str, object] = {"period": _link_period(cr.period, now)}
        if cr.concept is not None:
            upd["concept"] = _link_concept(cr.concept)
        if cr.reason is not None:
            upd["reason"] = _link_concept(cr.reason)
        crit.append(cr.model_copy(update=upd))
    data = plan.model_copy(
        update={
            "concepts": [_link_concept(c) for c in plan.concepts],
            "period": _link_period(plan.period, now),
            "criteria": crit,
        }
    ).model_dump()
    return QueryPlan.model_validate(data)  # re-run the validators on the linked plan


class LLMPlanner:
    """Plan engine for ``nl2query.pipeline.ask(..., llm=LLMPlanner(config))``."""

    def __init__(self, config: LLMConfig, *, engine: LLMEngine | None = None) -> None:
        self.engine = engine or LLMEngine(config)
        self.last: LLMResult | None = None
        self.last_error: LLMError | None = None

    def plan(self, question: str, now: datetime) -> QueryPlan:
        self.engine.validate = lambda p: link(p, now)
        self.last = None
        self.last_error = None
        try:
            self.last = self.engine.plan(question, now=now)
        except LLMError as e:
            self.last_error = e
            return QueryPlan(intent="refuse", reason=e.message)
        return self.last.plan
