"""Unknown terms: display-text fallback on a real store, and abstention when it is not safe.

SQLite by default, PostgreSQL with EHR_BRIDGE_TEST_DB (``db_url`` fixture).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ehr_bridge.store import open_store
from nl2query.parse_rules import Incomplete, parse
from nl2query.pipeline import ask
from tests.nl2query.fixtures import ICD, NOW, YJ, resources


def _extra() -> list[dict[str, Any]]:
    fabry = {
        "resourceType": "Condition",
        "id": "fb1",
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"coding": [{"system": ICD, "code": "E75.2", "display": "ファブリー病"}]},
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2021-05-01",
    }
    xultophy = {
        "resourceType": "MedicationRequest",
        "id": "zx1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": YJ, "code": "2499999G1000", "display": "ゾルトファイ配合注"}]
        },
        "subject": {"reference": "Patient/p2"},
        "authoredOn": "2026-09-01",
    }
    mango = {
        "resourceType": "AllergyIntolerance",
        "id": "al9",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"text": "マンゴー"},
        "patient": {"reference": "Patient/p2"},
    }
    return [fabry, xultophy, mango]


@pytest.fixture
def engine(db_url: str) -> Any:
    store = open_store(db_url)
    store.upsert_many(resources() + _extra())
    return store.engine


def _ask(engine: Any, q: str) -> dict[str, Any]:
    return ask(q, engine, datetime.fromisoformat(NOW)).answer


def test_unknown_condition_matches_display_and_says_so(engine: Any) -> None:
    a = _ask(engine, "ファブリー病の患者は何人？")
    assert a["status"] == "answered"
    assert a["count"] == 1
    assert "『ファブリー病』は用語表になく、データの表示名で照合しました" in a["text"]


def test_unknown_drug_matches_display(engine: Any) -> None:
    a = _ask(engine, "ゾルトファイを使用中の患者を一覧にして")
    assert a["status"] == "answered"
    assert [p["identifier"] for p in a["patients"]] == ["00000002"]
    assert "用語表になく" in a["text"]


def test_unknown_allergen_matches_display(engine: Any) -> None:
    a = _ask(engine, "マンゴーアレルギーの患者は何人？")
    assert a["status"] == "answered"
    assert a["count"] == 1


def test_unknown_term_without_any_match_asks_back(engine: Any) -> None:
    a = _ask(engine, "ゴーシェ病の患者は何人？")
    assert a["status"] == "clarify"
    assert "ゴーシェ病" in a["text"]


def test_known_term_inside_longer_compound_is_not_answered_as_the_known_term(
    engine: Any,
) -> None:
    # 糖尿病 is in the tables (2 patients); 糖尿病性足病変 is not, and nothing in the data matches
    a = _ask(engine, "糖尿病性足病変の患者は何人？")
    assert a["status"] != "answered"


@pytest.mark.parametrize(
    "q",
    [
        "2型糖尿病の患者の骨密度の推移は？",  # 骨密度: a clinical noun the plan would ignore
        "病気の患者は何人？",  # a category, not a concept
        "CIの患者は何人？",  # a two-letter abbreviation no table holds (cardiac index? 脳梗塞?)
    ],
)
def test_unsure_questions_are_not_answered(engine: Any, q: str) -> None:
    assert _ask(engine, q)["status"] in ("clarify", "refused")


def test_parser_marks_fallback_concepts() -> None:
    p = parse("ファブリー病の患者は何人？", datetime.fromisoformat(NOW))
    c = p.criteria[0].concept
    assert c is not None and c.resolved_by == "display_text" and c.text == "ファブリー病"
    with pytest.raises(Incomplete):
        parse("2型糖尿病の患者の骨密度の推移は？", datetime.fromisoformat(NOW))


def test_subtype_is_not_widened_to_parent() -> None:
    p = parse("発作性心房細動の患者は何人？", datetime.fromisoformat(NOW))
    c = p.criteria[0].concept
    assert c is not None and c.key == "paf"
    assert {(x.system, x.code) for x in c.codes} == {("icd10", "I480"), ("text", "発作性心房細動")}
