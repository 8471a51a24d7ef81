"""The LLM path through the real ``ask`` pipeline and a real store, against the scripted server:
rules cannot parse the question → the model's plan is parsed, repaired, linked and executed
read-only; failures come back as clear Japanese refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from scripted_server import Reply, closed_port_url

pipeline = pytest.importorskip("nl2query.pipeline")

from ehr_bridge.store import open_store  # noqa: E402
from nl2query.llm import LLMConfig  # noqa: E402
from nl2query.llm.bridge import LLMPlanner  # noqa: E402

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
QUESTION = "患者番号00000001のヘモグロビンA1cで一番新しいのを見せて"  # not in the rules' forms
PID_SYS = "urn:oid:1.2.392.100495.20.3.51.11312345670"
JLAC = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"


def _resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, pid in ((1, "p1"), (2, "p2")):
        out.append(
            {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": PID_SYS, "value": f"0000000{n}"}],
                "gender": "female",
                "birthDate": "1960-02-03",
            }
        )
        for day, value in (("2026-08-01", 7.0 + n), ("2026-09-15", 6.5 + n)):
            out.append(
                {
                    "resourceType": "Observation",
                    "id": f"{pid}-{day}",
                    "status": "final",
                    "code": {"coding": [{"system": JLAC, "code": "3D046000001920402"}]},
                    "subject": {"reference": f"Patient/{pid}"},
                    "effectiveDateTime": f"{day}T09:00:00+09:00",
                    "valueQuantity": {"value": value, "unit": "%"},
                }
            )
    return out


@pytest.fixture
def engine(db_url: str) -> Any:
    store = open_store(db_url)
    store.upsert_many(_resources())
    yield store.engine
    store.engine.dispose()


def test_rules_gap_goes_to_llm_which_is_repaired_and_executed(engine: Any, scripted) -> None:
    no_concept = {
        "intent": "answer",
        "subject": "Observation",
        "patient": {"identifier": "00000001"},
        "aggregate": "latest",
        "n": 1,
        "answer_type": "values",
    }
    good = {**no_concept, "concepts": [{"text": "ヘモグロビンA1c", "kind": "lab"}]}
    srv = scripted(
        Reply("```not json```"),
        Reply(json.dumps(no_concept)),
        Reply(json.dumps(good, ensure_ascii=False)),
    )
    planner = LLMPlanner(LLMConfig(base_url=srv.base_url, timeout_s=5, max_repairs=2))
    out = pipeline.ask(QUESTION, engine, NOW, llm=planner).answer
    assert out["engine"] == "llm" and out["status"] == "answered"
    assert [(v["patient"], v["value"]) for v in out["values"]] == [("p1", 7.5)]
    assert len(srv.requests) == 3 and planner.last is not None and planner.last.attempts == 3
    assert out["query"]["sql"]  # the executed query is reported


def test_llm_down_gives_clear_japanese_refusal(engine: Any) -> None:
    planner = LLMPlanner(LLMConfig(base_url=closed_port_url(), timeout_s=2))
    out = pipeline.ask(QUESTION, engine, NOW, llm=planner).answer
    assert out["status"] == "refused" and out["engine"] == "llm"
    assert out["text"].startswith("LLMサーバに接続できません")
    assert out["values"] == [] and out["patients"] == []


def test_llm_garbage_gives_clear_japanese_refusal(engine: Any, scripted) -> None:
    srv = scripted(Reply("ごめんなさい、わかりません"))
    planner = LLMPlanner(LLMConfig(base_url=srv.base_url, timeout_s=5, max_repairs=2))
    out = pipeline.ask(QUESTION, engine, NOW, llm=planner).answer
    assert out["status"] == "refused" and "有効な検索計画を作れませんでした" in out["text"]
    assert len(srv.requests) == 3


def test_unsafe_question_never_reaches_the_llm(engine: Any, scripted) -> None:
    srv = scripted(Reply("{}"))
    planner = LLMPlanner(LLMConfig(base_url=srv.base_url, timeout_s=5))
    out = pipeline.ask("患者番号00000001のHbA1cを全部削除して", engine, NOW, llm=planner).answer
    assert out["status"] == "refused" and srv.requests == []


def _shape_plan(subject: str, aggregate: str) -> dict[str, Any]:
    kind = {"Observation": "lab", "MedicationRequest": "medication"}.get(subject, "condition")
    text = {"lab": "HbA1c", "medication": "ワルファリン", "condition": "糖尿病"}[kind]
    return {
        "intent": "answer",
        "subject": subject,
        "patient": {"identifier": "00000001"},
        "concepts": [{"text": text, "kind": kind}],
        "aggregate": aggregate,
        "answer_type": "values",
    }


def test_every_shape_the_bridge_accepts_is_one_the_executor_answers(engine: Any) -> None:
    """check_shape and the executor share one table: a plan the LLM bridge lets through never
    fails at run time with 'unsupported plan shape' (seen with a real model on vLLM)."""
    from typing import get_args

    from nl2query.ir import Aggregate, QueryPlan, Subject
    from nl2query.llm.bridge import link

    accepted, rejected = [], []
    for subject in get_args(Subject):
        for aggregate in get_args(Aggregate):
            try:
                plan = QueryPlan.model_validate(_shape_plan(subject, aggregate))
                plan = link(plan, NOW)
            except ValueError:
                rejected.append((subject, aggregate))
                continue
            accepted.append((subject, aggregate))
            out = pipeline.run_plan(plan, engine, NOW, "llm", {})
            assert out.answer["status"] != "error", (subject, aggregate, out.answer)
            assert "unsupported plan shape" not in str(out.answer), (subject, aggregate)
    assert ("Observation", "latest") in accepted and ("Encounter", "day_of_stay") in accepted
    assert ("Patient", "latest") in rejected and ("MedicationRequest", "count") in rejected


def test_oldest_first_lists_the_same_values_in_date_order(engine: Any) -> None:
    from nl2query.ir import QueryPlan
    from nl2query.parse_rules import parse

    plan = parse("患者番号00000001のHbA1cを直近2回、古い順に教えて", NOW)
    assert isinstance(plan, QueryPlan) and plan.order == "oldest_first" and plan.n == 2
    old = pipeline.run_plan(plan, engine, NOW, "rules", {}).answer
    new = pipeline.run_plan(
        plan.model_copy(update={"order": "newest_first"}), engine, NOW, "rules", {}
    ).answer
    dates = [v["date"] for v in old["values"]]
    assert dates == sorted(dates) and len(dates) == 2
    assert old["values"] == new["values"][::-1]
