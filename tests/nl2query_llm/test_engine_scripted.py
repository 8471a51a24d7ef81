"""The LLM engine against a real HTTP server on 127.0.0.1 with scripted chat completions."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from scripted_server import Reply, closed_port_url

from nl2query.ir import QueryPlan
from nl2query.llm import (
    FewShotStore,
    LLMConfig,
    LLMEngine,
    LLMInvalidPlan,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
)

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
Q = "患者番号01234567の最新のHbA1cは？"
GOOD = json.dumps(
    {
        "intent": "answer",
        "subject": "Observation",
        "patient": {"identifier": "01234567"},
        "concepts": [{"text": "HbA1c", "kind": "lab"}],
        "aggregate": "latest",
        "n": 1,
        "answer_type": "values",
    },
    ensure_ascii=False,
)
# valid JSON, invalid plan: a per-patient aggregate without a patient
NO_PATIENT = json.dumps(
    {"intent": "answer", "subject": "Observation", "aggregate": "latest", "answer_type": "values"}
)
BAD_FIELD = json.dumps(
    {
        "intent": "answer",
        "subject": "Observation",
        "filters": [{"field": "password", "op": "eq", "value": "x"}],
        "aggregate": "count",
        "answer_type": "count",
    }
)


def engine(url: str, **kw: object) -> LLMEngine:
    return LLMEngine(LLMConfig(base_url=url, model="scripted-model", timeout_s=2, **kw))  # type: ignore[arg-type]


def test_valid_plan_first_try(scripted):
    srv = scripted(Reply(GOOD))
    res = engine(srv.base_url).plan(Q, now=NOW)
    assert isinstance(res.plan, QueryPlan)
    assert res.plan.patient is not None and res.plan.patient.identifier == "01234567"
    assert res.plan.aggregate == "latest" and res.attempts == 1 and res.errors == []
    body = srv.requests[0]
    # structured output through response_format json_schema, the schema taken from the model
    rf = body["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "QueryPlan"
    assert "intent" in rf["json_schema"]["schema"]["properties"]
    assert body["model"] == "scripted-model" and body["temperature"] == 0
    roles = [m["role"] for m in body["messages"]]
    assert roles[0] == "system" and roles[-1] == "user"
    assert "2026-10-01" in body["messages"][0]["content"]
    assert body["messages"][-1]["content"].endswith(Q)
    # few-shot pairs retrieved from the store sit between system and question
    assert roles.count("assistant") == 6


def test_invalid_then_repaired_feeds_the_error_back(scripted):
    srv = scripted(Reply(NO_PATIENT), Reply("これはJSONではありません"), Reply(GOOD))
    res = engine(srv.base_url).plan(Q, now=NOW)
    assert res.attempts == 3 and len(res.errors) == 2
    assert "needs a patient" in res.errors[0]
    assert "JSON" in res.errors[1]
    second = srv.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": NO_PATIENT}
    assert "needs a patient" in second[-1]["content"]
    assert res.plan.patient is not None


def test_output_cut_at_max_tokens_is_repaired_not_a_server_error(scripted):
    # a small model on vLLM looped until max_tokens; the client raised LengthFinishReasonError,
    # which used to surface as "the server's answer cannot be read"
    srv = scripted(
        Reply('{"intent": "answer", "concepts": [{"text": "HbA1c', finish_reason="length"),
        Reply(GOOD),
    )
    res = engine(srv.base_url, max_tokens=64).plan(Q, now=NOW)
    assert res.attempts == 2 and res.plan.aggregate == "latest"
    assert "最大トークン数 (64)" in res.errors[0]
    assert "途中で切れました" in srv.requests[1]["messages"][-1]["content"]


def test_output_cut_every_time_is_an_invalid_plan(scripted):
    srv = scripted(Reply('{"intent": "ans', finish_reason="length"))
    with pytest.raises(LLMInvalidPlan) as e:
        engine(srv.base_url, max_repairs=1).plan(Q, now=NOW)
    assert len(srv.requests) == 2 and all("切れました" in x for x in e.value.errors)


def test_whitelist_violation_is_repaired(scripted):
    srv = scripted(Reply(BAD_FIELD), Reply(GOOD))
    res = engine(srv.base_url).plan(Q, now=NOW)
    assert res.attempts == 2 and "not allowed" in res.errors[0]


def test_extra_validator_feeds_repair(scripted):
    srv = scripted(Reply(GOOD), Reply(GOOD))
    calls: list[str] = []

    def validate(plan: QueryPlan) -> None:
        calls.append(plan.aggregate)
        if len(calls) == 1:
            raise ValueError("concept 'HbA1c' did not resolve")

    eng = LLMEngine(LLMConfig(base_url=srv.base_url, timeout_s=2), validate=validate)
    res = eng.plan(Q, now=NOW)
    assert res.attempts == 2 and "did not resolve" in srv.requests[1]["messages"][-1]["content"]


def test_garbage_after_two_repairs_gives_japanese_error(scripted):
    srv = scripted(Reply("}{ garbage ]]"))
    with pytest.raises(LLMInvalidPlan) as ei:
        engine(srv.base_url, max_repairs=2).plan(Q, now=NOW)
    assert len(srv.requests) == 3  # one try + two repairs, then stop
    assert "有効な検索計画を作れませんでした" in ei.value.message
    assert len(ei.value.errors) == 3


def test_max_repairs_zero_means_one_request(scripted):
    srv = scripted(Reply(NO_PATIENT))
    with pytest.raises(LLMInvalidPlan):
        engine(srv.base_url, max_repairs=0).plan(Q, now=NOW)
    assert len(srv.requests) == 1


def test_non_openai_body_is_a_server_error(scripted):
    srv = scripted(Reply(raw_body=b"<html>502 Bad Gateway</html>"))
    with pytest.raises(LLMServerError) as ei:
        engine(srv.base_url).plan(Q, now=NOW)
    assert "解釈できません" in ei.value.message


def test_http_error_status(scripted):
    srv = scripted(Reply(status=404))
    with pytest.raises(LLMServerError) as ei:
        engine(srv.base_url).plan(Q, now=NOW)
    assert "HTTP 404" in ei.value.message and len(srv.requests) == 1  # no hidden retries


def test_slow_server_times_out(scripted):
    srv = scripted(Reply(GOOD, delay_s=3))
    eng = LLMEngine(LLMConfig(base_url=srv.base_url, timeout_s=0.5))
    t0 = time.perf_counter()
    with pytest.raises(LLMTimeout) as ei:
        eng.plan(Q, now=NOW)
    assert time.perf_counter() - t0 < 2.5
    assert "タイムアウト" in ei.value.message


def test_server_down_says_cannot_connect():
    with pytest.raises(LLMUnavailable) as ei:
        engine(closed_port_url()).plan(Q, now=NOW)
    assert "LLMサーバに接続できません" in ei.value.message
    assert Q not in ei.value.message  # never echo the question (may hold patient data)


def test_function_calling_method_sends_tools(scripted):
    args = json.loads(GOOD)
    body = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "QueryPlan", "arguments": json.dumps(args)},
            }
        ],
    }
    raw = json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "message": body, "finish_reason": "tool_calls"}],
        }
    ).encode()
    srv = scripted(Reply(raw_body=raw))
    res = engine(srv.base_url, method="function_calling").plan(Q, now=NOW)
    assert res.plan.aggregate == "latest"
    assert srv.requests[0]["tools"][0]["function"]["name"] == "QueryPlan"


def test_stored_examples_are_valid_and_retrieved_by_similarity():
    store = FewShotStore.load()
    assert len(store.examples) >= 40
    for ex in store.examples:
        QueryPlan.model_validate(ex.plan)
    intents = {ex.plan["intent"] for ex in store.examples}
    assert intents == {"answer", "clarify", "refuse"}
    best = store.nearest("患者番号99999999の最新のクレアチニンは？", 3)[-1]
    assert "クレアチニン" in best.question and best.plan["aggregate"] == "latest"
    best = store.nearest("ワーファリン内服中の患者は何人？", 1)[-1]
    assert "内服中" in best.question
