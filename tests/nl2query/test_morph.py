"""SudachiPy-based helpers: compound delimiting, predicate, negation (real dictionary)."""

from __future__ import annotations

from datetime import datetime

import pytest

from nl2query.parse_rules import parse
from nl2query.resolve import morph
from tests.nl2query.fixtures import NOW


@pytest.mark.parametrize(
    ("text", "term", "phrase"),
    [
        ("糖尿病性足病変の患者は何人？", "糖尿病", "糖尿病性足病変"),
        ("慢性腎臓病ステージG4の患者", "慢性腎臓病", "慢性腎臓病ステージG4"),
        ("HbA1cが8以上の患者", "HbA1c", "HbA1c"),  # the number is a value, not part of the name
        ("今ワーファリンを飲んでいる", "ワーファリン", "ワーファリン"),  # 今 is not part of it
    ],
)
def test_compound_at(text: str, term: str, phrase: str) -> None:
    i = text.index(term)
    a, b = morph.compound_at(text, i, i + len(term))
    assert text[a:b] == phrase


@pytest.mark.parametrize(
    ("q", "want"),
    [
        ("心不全の患者って何名？", "count"),
        ("心不全の患者の数を教えてください", "count"),
        ("心不全の患者を列挙して", None),  # 列挙 is handled by the parser's own word list
        ("心不全の患者を教えてください", "list"),
        ("心不全の患者はいますか", "exists"),
        ("心不全の記録はありますか？", "exists"),
    ],
)
def test_predicate(q: str, want: str | None) -> None:
    assert morph.predicate(q) == want


def test_negation_polite_and_plain() -> None:
    q1 = "メトホルミンを服用していない人"
    q2 = "メトホルミンを服用していません"
    q3 = "メトホルミンを服用している人"
    assert morph.negated_after(q1, 0)
    assert morph.negated_after(q2, 0)
    assert not morph.negated_after(q3, 0)


def test_polite_negation_in_a_cohort_question() -> None:
    now = datetime.fromisoformat(NOW)
    plain = parse("2型糖尿病の患者のうち、メトホルミンを服用していない人は何人？", now)
    polite = parse("2型糖尿病の患者のうち、メトホルミンを服用していません方は何人ですか", now)
    assert [c.negate for c in plain.criteria] == [False, True]
    assert [c.negate for c in polite.criteria] == [False, True]


def test_tokenizer_is_cached() -> None:
    assert morph._tokenizer() is morph._tokenizer()
