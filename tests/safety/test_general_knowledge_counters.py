"""「Xって何？」 is a general-knowledge question; 「Xの患者って何人？」 is a count over our records."""

from __future__ import annotations

import pytest

from nl2query.safety import check


@pytest.mark.parametrize(
    "question",
    [
        "COPDの患者って何人？",
        "糖尿病の患者ってなん人いる？",
        "入院患者って何名？",
        "処方って何件ある？",
    ],
)
def test_counting_questions_are_not_refused_as_general_knowledge(question: str) -> None:
    verdict = check(question)
    assert verdict is None or verdict.code != "general_knowledge"


@pytest.mark.parametrize("question", ["心不全って何？", "HbA1cとはなに", "eGFRってなんですか"])
def test_what_is_questions_are_refused(question: str) -> None:
    verdict = check(question)
    assert verdict is not None and verdict.code == "general_knowledge"
