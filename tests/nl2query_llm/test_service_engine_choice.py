"""The engine choice reaches the LLM from the product's own entry points: `ehr-bridge ask`
(a real process) and `POST /nl/ask` (a real server), configured only through settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx
from scripted_server import Reply, closed_port_url
from test_pipeline_llm import NOW, QUESTION, _resources

from ehr_bridge.api.app import create_app
from ehr_bridge.config import load_settings
from ehr_bridge.store import open_store
from tests.live_server import serve_in_thread

PLAN = {
    "intent": "answer",
    "subject": "Observation",
    "patient": {"identifier": "00000001"},
    "aggregate": "latest",
    "n": 1,
    "answer_type": "values",
    "concepts": [{"text": "ヘモグロビンA1c", "kind": "lab"}],
}


def cli_ask(db_url: str, question: str, **env: str) -> dict[str, Any]:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ehr_bridge",
            "ask",
            question,
            "--json",
            "--db",
            db_url,
            "--now",
            NOW.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_cli_hands_rules_gaps_to_the_configured_llm(db_url: str, scripted) -> None:
    open_store(db_url).upsert_many(_resources())
    srv = scripted(Reply(json.dumps(PLAN, ensure_ascii=False)))
    out = cli_ask(
        db_url, QUESTION, EHR_BRIDGE_LLM_BASE_URL=srv.base_url, EHR_BRIDGE_NL_ENGINE="auto"
    )
    assert out["engine"] == "llm" and out["status"] == "answered"
    assert [v["value"] for v in out["values"]] == [7.5]
    # the rules engine alone abstains on the same question
    rules_only = cli_ask(db_url, QUESTION, EHR_BRIDGE_NL_ENGINE="rules")
    assert rules_only["status"] != "answered" and rules_only["engine"] == "rules"


def test_llm_engine_without_a_server_is_a_clear_refusal(db_url: str) -> None:
    open_store(db_url).upsert_many(_resources())
    out = cli_ask(db_url, QUESTION, EHR_BRIDGE_NL_ENGINE="llm", EHR_BRIDGE_LLM_BASE_URL="")
    assert out["status"] == "refused" and "LLMサーバが設定されていません" in out["text"]


def test_api_uses_the_same_engine_choice(db_url: str) -> None:
    store = open_store(db_url)
    store.upsert_many(_resources())
    settings = load_settings(
        db=db_url, nl_engine="llm", llm_base_url=closed_port_url(), llm_timeout_s=2
    )
    with serve_in_thread(create_app(settings, store=store)) as base:
        out = httpx.post(
            f"{base}/nl/ask", json={"question": QUESTION, "now": NOW.isoformat()}, timeout=60
        ).json()
    assert out["engine"] == "llm" and out["status"] == "refused"
    assert out["text"].startswith("LLMサーバに接続できません")
