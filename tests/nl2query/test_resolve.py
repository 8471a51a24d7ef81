from datetime import datetime

import pytest

from nl2query.resolve.terms import find_mentions
from nl2query.resolve.time import find_period

NOW = datetime.fromisoformat("2026-10-01T09:00:00+09:00")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("令和7年度の", "2025-04-01", "2026-03-31"),
        ("昨年度に", "2025-04-01", "2026-03-31"),
        ("今年度", "2026-04-01", "2026-10-01"),
        ("先月の", "2026-09-01", "2026-09-30"),
        ("直近3か月", "2026-07-01", "2026-10-01"),
        ("過去1年間", "2025-10-01", "2026-10-01"),
        ("昨年", "2025-01-01", "2025-12-31"),
        ("平成30年度", "2018-04-01", "2019-03-31"),
        ("昨日", "2026-09-30", "2026-09-30"),
        ("先週", "2026-09-21", "2026-09-27"),
        # 「…から今まで」「…以降」 run to today, and the phrase is consumed whole
        ("去年から今までに", "2025-01-01", "2026-10-01"),
        ("先月以降", "2026-09-01", "2026-10-01"),
        ("令和6年度から現在まで", "2024-04-01", "2026-10-01"),
        ("9月の", "2026-09-01", "2026-09-30"),
        ("11月の", "2025-11-01", "2025-11-30"),  # not yet this year: last year's
        ("去年4月", "2025-04-01", "2025-04-30"),
        ("3か月", None, None),  # a duration without 直近/過去 is not a month name
    ],
)
def test_time_expressions(text: str, start: str | None, end: str | None) -> None:
    hit = find_period(text, NOW)
    if start is None:
        assert hit is None
        return
    assert hit is not None
    assert (hit.period.start, hit.period.end) == (start, end)
    if "まで" in text or "以降" in text:
        assert text[hit.start : hit.end].endswith(("まで", "以降"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ﾜｰﾌｧﾘﾝ", "warfarin"),
        ("ＨｂＡ１ｃ", "hba1c"),
        ("A1c", "hba1c"),
        ("DM", "dm"),
        ("心房細動", "af"),
        ("SGLT2阻害薬", "sglt2"),
        ("イグザレルト", "rivaroxaban"),
        ("ｸﾚｱﾁﾆﾝ", "cre"),
    ],
)
def test_terms(text: str, key: str) -> None:
    ms = find_mentions(f"患者の{text}は？")
    assert [m.key for m in ms] == [key]


def test_no_false_mentions_inside_words_or_units() -> None:
    assert [m.key for m in find_mentions("ペニシリンアレルギー")] == []  # no リン (phosphorus)
    assert [m.key for m in find_mentions("1.5mg/dL以上")] == []  # no Mg / DL
