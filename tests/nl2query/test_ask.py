"""End to end on a real store (SQLite, or PostgreSQL with EHR_BRIDGE_TEST_DB)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from ehr_bridge.store import open_store
from nl2query.pipeline import ask
from nl2query.views import flat_observation
from tests.nl2query.fixtures import NOW, resources


@pytest.fixture
def engine(db_url: str) -> Any:
    store = open_store(db_url)
    store.upsert_many(resources())
    return store.engine


def _ask(engine: Any, q: str) -> dict[str, Any]:
    return ask(q, engine, datetime.fromisoformat(NOW)).answer


def test_latest_values_both_code_systems(engine: Any) -> None:
    a = _ask(engine, "患者番号00000001の直近3回のＨｂＡ１ｃを新しい順に")
    assert a["status"] == "answered"
    assert [v["value"] for v in a["values"]] == [7.2, 6.5, 8.0]
    assert a["values"][0]["date"] == "2026-09-12"


def test_entered_in_error_ignored(engine: Any) -> None:
    a = _ask(engine, "患者番号00000002の最新のHbA1cは？")
    assert [v["value"] for v in a["values"]] == [7.0]


def test_cohort_confirmed_only(engine: Any) -> None:
    a = _ask(engine, "2型糖尿病の患者は何人？")
    assert a["count"] == 2
    b = _ask(engine, "DMの人数を教えて")
    assert b["count"] == 2


def test_daily_dose_sums_orders(engine: Any) -> None:
    a = _ask(engine, "患者番号00000001のワーファリンの1日量は何mg？")
    assert a["values"][0]["value"] == pytest.approx(2.5)


def test_threshold_and_negation(engine: Any) -> None:
    a = _ask(engine, "ワーファリンを服用中で、直近のeGFRが45未満の患者は？")
    assert [p["identifier"] for p in a["patients"]] == ["00000001"]
    b = _ask(engine, "2型糖尿病の患者のうち、現在メトホルミンが処方されていない人は何人？")
    assert b["count"] == 1


def test_same_name_needs_birth_date(engine: Any) -> None:
    assert _ask(engine, "佐藤花子さんのHbA1cの最新値は？")["status"] == "clarify"
    a = _ask(engine, "佐藤 花子さん（1980年1月15日生）のHbA1cの最新値は？")
    assert a["status"] == "answered" and a["values"][0]["value"] == 7.0


def test_new_diagnosis_in_fiscal_year(engine: Any) -> None:
    a = _ask(engine, "今年度に新たに2型糖尿病と診断された患者は何人？")
    assert a["count"] == 0
    b = _ask(engine, "今年に入ってから新たに2型糖尿病と診断された患者は何人？")
    assert b["count"] == 1


def test_unclear_or_unsafe_is_not_answered(engine: Any) -> None:
    assert _ask(engine, "血糖が高い患者は？")["status"] == "clarify"
    assert _ask(engine, "患者番号00000001のHbA1cを削除して")["status"] == "refused"
    assert _ask(engine, "患者番号00000001の好きな色は？")["status"] == "refused"


def test_read_only_and_query_shown(engine: Any) -> None:
    with engine.connect() as c:
        before = c.execute(select(func.count()).select_from(flat_observation)).scalar()
    a = _ask(engine, "直近のHbA1cが7%以上の患者を一覧にして")
    assert {p["identifier"] for p in a["patients"]} == {"00000001", "00000002"}
    assert a["query"]["sql"] and a["query"]["fhir"]
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(flat_observation)).scalar() == before


@pytest.mark.parametrize(
    "q",
    [
        "2型糖尿病でない患者は何人？",
        "2型糖尿病ではない患者は何人？",
        "2型糖尿病のない患者は何人？",
        "2型糖尿病がない患者は何人？",
        "2型糖尿病以外の患者は何人？",
        "2型糖尿病と診断されていない患者は何人？",
        "2型糖尿病と診断されてない患者は何人？",
    ],
)
def test_negated_condition_phrasings_exclude(engine: Any, q: str) -> None:
    """「〜でない / ではない / のない / 以外」 mean the patient must NOT have the disease: the
    count is the complement of 「〜の患者」, and the answer says what was excluded."""
    patients = sum(1 for r in resources() if r["resourceType"] == "Patient")
    with_dm = _ask(engine, "2型糖尿病の患者は何人？")["count"]
    a = _ask(engine, q)
    assert a["status"] == "answered"
    assert a["count"] == patients - with_dm
    assert "除外: " in a["text"] and "対象: " not in a["text"]


def test_answer_text_names_every_restriction(engine: Any) -> None:
    a = _ask(engine, "70歳以上の女性の2型糖尿病の患者は何人？")
    assert a["status"] == "answered"
    assert "70歳以上" in a["text"] and "女性" in a["text"] and "条件: " in a["text"]
    b = _ask(engine, "直近のeGFRが45未満の患者は何人？")
    assert "最新値 < 45" in b["text"]


def test_neither_nor_excludes_both(engine: Any) -> None:
    patients = sum(1 for r in resources() if r["resourceType"] == "Patient")
    dm = _ask(engine, "2型糖尿病の患者は何人？")["count"]
    af = _ask(engine, "心房細動の患者は何人？")["count"]
    both = _ask(engine, "2型糖尿病と心房細動の患者は何人？")["count"]
    a = _ask(engine, "2型糖尿病でも心房細動でもない患者は何人？")
    assert a["count"] == patients - (dm + af - both)
    assert "除外: " in a["text"] and "対象: " not in a["text"]


@pytest.mark.parametrize(
    ("q", "negated"),
    [
        ("ペニシリンアレルギーのない患者は何人？", True),
        ("ペニシリンアレルギー歴のない患者は何人？", True),
        ("ペニシリンアレルギーがない患者は何人？", True),
        ("ペニシリンアレルギーの患者は何人？", False),
        ("ペニシリンアレルギーがある患者は何人？", False),
    ],
)
def test_allergy_negation(q: str, negated: bool) -> None:
    from nl2query.parse_rules import parse

    plan = parse(q, datetime.fromisoformat(NOW))
    (allergy,) = [c for c in plan.criteria if c.kind == "allergy"]
    assert allergy.negate is negated


@pytest.mark.parametrize(
    ("q", "op", "value"),
    [
        ("65歳以上でない患者は何人？", "lt", 65.0),
        ("65歳以上の患者は何人？", "ge", 65.0),
        ("70歳未満ではない糖尿病の患者は何人？", "ge", 70.0),
    ],
)
def test_negated_age_inverts_the_comparison(q: str, op: str, value: float) -> None:
    from nl2query.parse_rules import parse

    (age,) = [c for c in parse(q, datetime.fromisoformat(NOW)).criteria if c.kind == "age"]
    assert (age.op, age.value, age.negate) == (op, value, False)


def test_other_than_a_sex_is_the_complement(engine: Any) -> None:
    patients = sum(1 for r in resources() if r["resourceType"] == "Patient")
    male = _ask(engine, "男性の患者は何人？")["count"]
    for q in ("男性以外の患者は何人？", "男性でない患者は何人？"):
        a = _ask(engine, q)
        assert a["count"] == patients - male, q
        assert "除外: 男性" in a["text"]


@pytest.mark.parametrize(
    ("q", "op"),
    [
        ("HbA1cが7以上でない患者は何人？", "lt"),
        ("直近のHbA1cが7未満ではない患者は何人？", "ge"),
        ("HbA1cが7以上の患者は何人？", "ge"),
    ],
)
def test_negated_lab_threshold_inverts_the_comparison(q: str, op: str) -> None:
    from nl2query.parse_rules import parse

    (lab,) = [c for c in parse(q, datetime.fromisoformat(NOW)).criteria if c.kind == "lab_latest"]
    assert (lab.op, lab.value, lab.negate) == (op, 7.0, False)


def test_never_prescribed_is_not_only_inactive() -> None:
    from nl2query.parse_rules import parse

    now = datetime.fromisoformat(NOW)
    (never,) = parse("ワーファリンを処方されたことがない患者は何人？", now).criteria
    assert (never.kind, never.negate, never.active) == ("medication", True, None)
    (inactive,) = parse("ワーファリンを服用していない患者は何人？", now).criteria
    assert (inactive.kind, inactive.negate, inactive.active) == ("medication", True, True)


@pytest.mark.parametrize(
    "q", ["2型糖尿病か心房細動の患者は何人？", "2型糖尿病または心房細動の患者は何人？"]
)
def test_either_or_is_asked_back_not_answered_as_both(engine: Any, q: str) -> None:
    a = _ask(engine, q)
    assert a["status"] == "clarify"
    assert "分けて質問" in a["text"]


def test_not_exceeding_and_other_than_the_patients_of() -> None:
    from nl2query.parse_rules import parse

    now = datetime.fromisoformat(NOW)
    (lab,) = parse("eGFRが45を超えていない患者は何人？", now).criteria
    assert (lab.op, lab.value) == ("le", 45.0)
    (cond,) = parse("2型糖尿病の患者以外は何人？", now).criteria
    assert (cond.kind, cond.negate) == ("condition", True)


def test_yes_no_answers_state_the_fact(engine: Any) -> None:
    """A bare いいえ to 「〜ではないですか？」 reads as the opposite: booleans say 該当あり/なし."""
    a = _ask(engine, "患者番号00000001は2型糖尿病ですか？")
    assert a["boolean"] is True and a["text"].endswith("該当あり。")
    assert "はい" not in a["text"] and "いいえ" not in a["text"]


@pytest.mark.parametrize(
    ("q", "negated"),
    [
        ("現在入院していない患者は何人？", True),
        ("入院中でない患者は何人？", True),
        ("入院中の患者は何人？", False),
    ],
)
def test_not_currently_admitted(q: str, negated: bool) -> None:
    from nl2query.parse_rules import parse

    (adm,) = parse(q, datetime.fromisoformat(NOW)).criteria
    assert (adm.kind, adm.negate) == ("currently_admitted", negated)


@pytest.mark.parametrize(
    "q",
    [
        "2型糖尿病の患者の平均年齢は？",
        "2型糖尿病の患者の中で一番若い人は？",
        "2型糖尿病の患者の割合は？",
    ],
)
def test_cohort_statistics_are_not_answered_with_a_patient_list(engine: Any, q: str) -> None:
    a = _ask(engine, q)
    assert a["status"] != "answered", a["text"]
    assert _ask(engine, "2型糖尿病の患者は？")["status"] == "answered"
