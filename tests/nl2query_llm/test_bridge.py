"""LLMPlanner: linking model plans to codes/dates, shape checks fed to repair, errors → refuse."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from scripted_server import Reply, closed_port_url

from nl2query.ir import QueryPlan
from nl2query.llm import LLMConfig
from nl2query.llm.bridge import LLMPlanner, check_shape, link

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))


def test_link_resolves_terms_and_time_words() -> None:
    plan = QueryPlan.model_validate(
        {
            "intent": "answer",
            "aggregate": "count",
            "answer_type": "count",
            "criteria": [
                {
                    "kind": "medication",
                    "concept": {"text": "ﾜｰﾌｧﾘﾝ", "kind": "medication"},
                    "active": True,
                },
                {
                    "kind": "condition_first",
                    "concept": {"text": "2型糖尿病", "kind": "condition"},
                    "period": {"text": "令和7年度", "kind": "relative"},
                },
            ],
        }
    )
    linked = link(plan, NOW)
    med, cond = linked.criteria
    assert med.concept is not None and med.concept.resolved_by == "table" and med.concept.codes
    assert cond.concept is not None and any(c.code == "E11" for c in cond.concept.codes)
    assert cond.period is not None and (cond.period.start, cond.period.end) == (
        "2025-04-01",
        "2026-03-31",
    )


def test_link_rejects_unknown_time_words() -> None:
    plan = QueryPlan.model_validate(
        {
            "intent": "answer",
            "subject": "Observation",
            "patient": {"identifier": "01234567"},
            "concepts": [{"text": "HbA1c", "kind": "lab"}],
            "period": {"text": "そのうち", "kind": "relative"},
            "aggregate": "all",
            "answer_type": "values",
        }
    )
    with pytest.raises(ValueError, match="period.text"):
        link(plan, NOW)


@pytest.mark.parametrize(
    "bad",
    [
        {"subject": "Condition", "aggregate": "exists", "answer_type": "boolean"},
        {"subject": "Observation", "aggregate": "latest", "answer_type": "values"},
        {"subject": "MedicationRequest", "aggregate": "daily_dose", "answer_type": "values"},
    ],
)
def test_unsupported_shapes_are_rejected(bad: dict[str, str]) -> None:
    plan = QueryPlan.model_validate({"intent": "answer", "patient": {"identifier": "1"}, **bad})
    with pytest.raises(ValueError):
        check_shape(plan)


def test_shapes_a_real_model_produced_are_rejected_with_what_to_use() -> None:
    """Plans Qwen2.5-Coder-0.5B on vLLM produced that passed validation but failed at run time."""
    lab_on_patient = QueryPlan.model_validate(
        {
            "intent": "answer",
            "patient": {"identifier": "03710424"},
            "concepts": [{"text": "HbA1c", "kind": "lab"}],
            "aggregate": "latest",
            "answer_type": "values",
        }
    )
    with pytest.raises(ValueError) as e:
        check_shape(lab_on_patient)
    assert "aggregate=latest" in str(e.value) and "age, exists, list" in str(e.value)
    assert "subject='Observation'" in str(e.value)
    med_count = lab_on_patient.model_copy(
        update={"subject": "MedicationRequest", "aggregate": "count", "concepts": []}
    )
    with pytest.raises(ValueError, match="daily_dose, distinct_count, exists, single_dose"):
        check_shape(med_count)


def test_planner_repairs_a_bad_shape_then_returns_linked_plan(scripted) -> None:
    bad = {
        "intent": "answer",
        "subject": "Condition",
        "patient": {"identifier": "01234567"},
        "aggregate": "exists",
        "answer_type": "boolean",
        "criteria": [{"kind": "condition", "concept": {"text": "心不全", "kind": "condition"}}],
    }
    good = {**bad, "subject": "Patient"}
    srv = scripted(
        Reply(json.dumps(bad, ensure_ascii=False)), Reply(json.dumps(good, ensure_ascii=False))
    )
    planner = LLMPlanner(LLMConfig(base_url=srv.base_url, timeout_s=5))
    plan = planner.plan("患者番号01234567は心不全と診断されている？", NOW)
    assert plan.subject == "Patient" and planner.last is not None and planner.last.attempts == 2
    assert "subject='Patient'" in srv.requests[1]["messages"][-1]["content"]
    assert plan.criteria[0].concept is not None and plan.criteria[0].concept.codes


def test_planner_turns_server_down_into_a_refusal_with_the_japanese_message() -> None:
    planner = LLMPlanner(LLMConfig(base_url=closed_port_url(), timeout_s=2))
    plan = planner.plan("患者番号01234567の最新のHbA1cは？", NOW)
    assert plan.intent == "refuse" and plan.reason is not None
    assert plan.reason.startswith("LLMサーバに接続できません")
    assert planner.last_error is not None and planner.last_error.code == "llm_unavailable"
