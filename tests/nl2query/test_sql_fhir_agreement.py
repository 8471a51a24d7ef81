"""The SQL path and the FHIR path (searches against a live uvicorn of our API) agree.

Data: ``agreement_data/`` (40 synthetic patients, see its SOURCE.md); questions:
``agreement_questions.jsonl`` (written by ``agreement_data/make_questions.py``), covering every
plan shape the SQL compiler handles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ehr_bridge.api.app import create_app
from ehr_bridge.config import load_settings
from ehr_bridge.store import FhirStore, open_store
from nl2query.compile_fhir import compile_fhir
from nl2query.execute_fhir import FhirExecutor
from nl2query.pipeline import ask
from tests.live_server import serve_in_thread

HERE = Path(__file__).parent
NOW = datetime.fromisoformat("2026-10-01T09:00:00+09:00")
FIELDS = ("status", "answer_type", "count", "patients", "values", "boolean")

# Every plan shape the SQL compiler handles must be exercised by an answered question.
AGGREGATES = {
    "count",
    "list",
    "exists",
    "latest",
    "average",
    "min",
    "max",
    "difference",
    "rose",
    "daily_dose",
    "distinct_count",
    "day_of_stay",
    "age",
}
CRITERIA = {
    "condition",
    "condition_first",
    "medication",
    "medication_first",
    "lab_latest",
    "lab_any",
    "allergy",
    "age",
    "sex",
    "admitted",
    "currently_admitted",
}


def _load(store: FhirStore) -> None:
    for f in sorted((HERE / "agreement_data").glob("*.ndjson")):
        store.upsert_many(json.loads(x) for x in f.open(encoding="utf-8") if x.strip())


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[FhirStore, str]]:
    store = open_store(db_url)
    _load(store)
    app = create_app(load_settings(db=db_url), store=store)
    with serve_in_thread(app) as base:
        yield store, base + "/fhir"


def _cmp(ans: dict[str, Any]) -> dict[str, Any]:
    return {k: ans.get(k) for k in FIELDS}


def test_sql_and_fhir_paths_give_identical_answers(served: tuple[FhirStore, str]) -> None:
    store, base = served
    items = [json.loads(x) for x in (HERE / "agreement_questions.jsonl").open(encoding="utf-8")]
    assert len(items) >= 40
    fx = FhirExecutor(base, timeout_s=30)
    diffs, aggs, crits = [], set(), set()
    answered = nonempty = 0
    try:
        for it in items:
            s = ask(it["question"], store.engine, NOW)
            f = ask(it["question"], None, NOW, executor=fx)
            if _cmp(s.answer) != _cmp(f.answer):
                diffs.append((it["id"], _cmp(s.answer), _cmp(f.answer)))
            if s.answer["status"] != "answered" or s.plan is None:
                continue
            answered += 1
            a = s.answer
            nonempty += bool(a["count"] or a["values"] or a["patients"] or a["boolean"])
            aggs.add(s.plan.aggregate)
            crits.update(c.kind for c in s.plan.criteria)
            # the FHIR path reports the searches it ran, relative to the base URL
            run = f.answer["query"]["fhir"]
            assert run and all(not u.startswith("http") for u in run)
            assert f.answer["query"]["sql"] is None
    finally:
        fx.close()
    assert diffs == []
    assert answered >= 0.9 * len(items)
    assert nonempty >= 0.6 * answered  # most answers are not trivially empty
    assert aggs >= AGGREGATES, AGGREGATES - aggs
    assert crits >= CRITERIA, CRITERIA - crits


def test_fhir_path_pages_through_next_links(served: tuple[FhirStore, str]) -> None:
    store, base = served
    q = "2型糖尿病と診断されている患者数を教えて。"
    want = ask(q, store.engine, NOW).answer
    with httpx.Client(timeout=30, event_hooks={}) as client:
        fx = FhirExecutor(base, client=client)
        # force tiny pages: every search is re-issued by the server's next links
        fx_page = _SmallPages(fx)
        got = ask(q, None, NOW, executor=fx_page).answer
    assert _cmp(got) == _cmp(want)
    assert want["count"] and want["count"] > 2
    assert sum("_offset=" in u for u in got["query"]["fhir"]) >= 2


class _SmallPages:
    """Wraps an executor so its searches ask for 2 results per page."""

    def __init__(self, fx: FhirExecutor) -> None:
        self.fx = fx

    def __call__(self, plan: Any, now: datetime) -> Any:
        import nl2query.compile_fhir as cf

        old = cf._PAGE
        cf._PAGE = 2
        try:
            return self.fx(plan, now)
        finally:
            cf._PAGE = old


def test_truncation_and_unreachable_server_are_refused(served: tuple[FhirStore, str]) -> None:
    store, base = served
    q = "2型糖尿病と診断されている患者数を教えて。"
    fx = FhirExecutor(base, max_pages=1)
    small = _SmallPages(fx)
    out = ask(q, None, NOW, executor=small).answer
    assert out["status"] == "refused" and "truncated" in out["text"]
    dead = FhirExecutor("http://127.0.0.1:9/fhir", timeout_s=2)
    out = ask(q, None, NOW, executor=dead).answer
    assert out["status"] == "refused" and out["count"] is None


def test_searches_use_standard_parameters(served: tuple[FhirStore, str]) -> None:
    store, _ = served
    s = ask("直近のeGFRが60未満の患者は何人？", store.engine, NOW)
    assert s.plan is not None
    urls = compile_fhir(s.plan, today=NOW.date())
    assert urls[0].startswith("Observation?status=final,amended,corrected&code:below=")
    # both URI forms of JLAC10, and the subject patients come along
    assert (
        "master-JLAC10-17digits|8A065" in urls[0]
        and "urn:oid:1.2.392.200119.4.504|8A065" in urls[0]
    )
    assert "_include=Observation:subject" in urls[0]
    s = ask("令和7年度にLDLコレステロールを測定した患者は何人？", store.engine, NOW)
    assert s.plan is not None
    url = compile_fhir(s.plan, today=NOW.date())[0]
    assert (
        "date=ge2025-04-01T00:00:00%2B09:00" in url and "date=lt2026-04-01T00:00:00%2B09:00" in url
    )
    s = ask("過去1年間に新たに2型糖尿病と診断された患者は何人？", store.engine, NOW)
    assert s.plan is not None
    url = compile_fhir(s.plan, today=NOW.date())[0]
    assert "code:below=" in url and "|E11" in url and "verification-status=confirmed" in url
