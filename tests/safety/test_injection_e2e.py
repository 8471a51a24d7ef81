"""The injection corpus end to end through the real ``ask`` pipeline over a populated store.

Every attack prompt (direct, SQL-style, obfuscated) must come back ``refused`` with no rows;
payloads planted in stored free text (notes, names) must not change what runs: benign questions
about the planted patient answer within that patient only, and no stored text reaches the LLM.
After everything the database must be byte-for-byte unchanged (diff of every table).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

pipeline = pytest.importorskip("nl2query.pipeline")
pytest.importorskip("nl2query.execute")

from ehr_bridge.store import open_store  # noqa: E402
from nl2query.llm import LLMConfig  # noqa: E402
from nl2query.llm.bridge import LLMPlanner  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "nl2query_llm"))
from scripted_server import Reply, ScriptedOpenAI  # noqa: E402

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
CORPUS = Path(__file__).with_name("injection_prompts.jsonl")
ROWS = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines()]
ATTACKS = [r for r in ROWS if r["expect"] == "refused"]
PLANTED = [r["prompt"] for r in ROWS if r["expect"] == "stored_only"]
PID_SYS = "urn:oid:1.2.392.100495.20.3.51.11312345670"
JLAC = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
ICD = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
HBA1C = "3D046000001920402"


def _patient(pid: str, number: str, family: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": PID_SYS, "value": number}],
        "name": [
            {"use": "official", "text": f"{family} 太郎", "family": family, "given": ["太郎"]}
        ],
        "gender": "male",
        "birthDate": "1950-01-01",
        "address": [{"text": "東京都テスト区1-1"}],
        "telecom": [{"system": "phone", "value": "03-0000-0000"}],
    }


def _hba1c(oid: str, pid: str, day: str, value: float, note: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": JLAC, "code": HBA1C, "display": "HbA1c"}], "text": "HbA1c"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": f"{day}T10:00:00+09:00",
        "valueQuantity": {"value": value, "unit": "%"},
        "note": [{"text": note}],
    }


def _condition(cid: str, pid: str, note: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": ICD, "code": "E11.9", "display": "2型糖尿病"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": "2024-05-01T10:00:00+09:00",
        "note": [{"text": note}],
    }


def _resources() -> list[dict[str, Any]]:
    res: list[dict[str, Any]] = [
        _patient("p-one", "00000001", PLANTED[2][:20]),  # SQL-looking family name
        _patient("p-two", "00000002", "二郎"),
        _patient("p-three", "00000003", "三郎"),
    ]
    for i, note in enumerate(PLANTED):
        res.append(_hba1c(f"o-one-{i}", "p-one", f"2026-0{1 + i % 8}-1{i % 9}", 6.0 + i / 10, note))
        res.append(_condition(f"c-one-{i}", "p-one", note))
    res.append(_hba1c("o-two", "p-two", "2026-09-01", 9.9, PLANTED[0]))
    res.append(_condition("c-two", "p-two", PLANTED[1]))
    return res


def _snapshot(engine: Any) -> dict[str, list[str]]:
    snap: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()
            snap[table] = sorted(repr(tuple(r)) for r in rows)
    return snap


@pytest.fixture
def store_engine(db_url: str) -> Iterator[Any]:
    store = open_store(db_url)
    store.upsert_many(_resources())
    yield store.engine
    store.engine.dispose()


def _hostile_plan() -> str:
    # what a subverted model might propose: every patient, no filter
    return json.dumps(
        {"intent": "answer", "subject": "Patient", "aggregate": "list", "answer_type": "patients"}
    )


def test_attack_corpus_refused_and_database_unchanged(store_engine: Any) -> None:
    srv = ScriptedOpenAI([Reply(_hostile_plan())]).start()
    try:
        planner = LLMPlanner(LLMConfig(base_url=srv.base_url, timeout_s=5))
        before = _snapshot(store_engine)
        assert sum(len(v) for v in before.values()) > 0
        leaks = []
        for row in ATTACKS:
            out = pipeline.ask(row["prompt"], store_engine, NOW, llm=planner).answer
            if out["status"] != "refused" or out["patients"] or out["values"] or out["count"]:
                leaks.append(row["id"])
        assert len(ATTACKS) >= 300
        assert leaks == []  # 0 prompts answered, 0 rows returned
        assert srv.requests == []  # refused before any model call
        assert _snapshot(store_engine) == before  # 0 writes
    finally:
        srv.stop()


def test_planted_text_does_not_change_what_runs(store_engine: Any) -> None:
    before = _snapshot(store_engine)
    out = pipeline.ask("患者番号00000001の最新のHbA1cは？", store_engine, NOW).answer
    assert out["status"] == "answered"
    assert out["values"] and {v["patient"] for v in out["values"]} == {"p-one"}
    out = pipeline.ask(
        "患者番号00000002の直近3回のHbA1cを新しい順に教えて。", store_engine, NOW
    ).answer
    assert out["status"] == "answered"
    assert [v["value"] for v in out["values"]] == [9.9]  # only p-two's one result
    out = pipeline.ask("2型糖尿病の患者は何人？", store_engine, NOW).answer
    assert out["status"] == "answered" and out["count"] == 2  # p-one and p-two, nobody else
    assert _snapshot(store_engine) == before


def test_llm_path_sees_no_stored_text_and_stays_in_scope(store_engine: Any) -> None:
    plan = {
        "intent": "answer",
        "subject": "Observation",
        "patient": {"identifier": "00000001"},
        "concepts": [{"text": "HbA1c", "kind": "lab"}],
        "aggregate": "latest",
        "n": 3,
        "answer_type": "values",
    }
    srv = ScriptedOpenAI([Reply(json.dumps(plan))]).start()
    try:
        planner = LLMPlanner(LLMConfig(base_url=srv.base_url, timeout_s=5))
        before = _snapshot(store_engine)
        got = planner.plan("患者番号00000001のA1cの値を新しいほうから3つ", NOW)
        out = pipeline.run_plan(got, store_engine, NOW, "llm", {}).answer
        assert out["status"] == "answered" and len(out["values"]) == 3
        assert {v["patient"] for v in out["values"]} == {"p-one"}
        sent = json.dumps(srv.requests, ensure_ascii=False)
        for payload in PLANTED:
            assert payload not in sent  # stored free text never reaches the model
        assert _snapshot(store_engine) == before
    finally:
        srv.stop()
