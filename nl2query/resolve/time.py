"""Japanese time expressions → JST calendar windows, with an injected clock.

Conventions: windows are inclusive JST calendar dates; relative windows end today (the day of
``now``); the Japanese fiscal year starts on April 1 (今年度 = April 1 → today, 昨年度 = the whole
previous April–March); 直近Nか月 = from the same day N months ago; 先月 = the whole previous
calendar month; 先週 = the previous Monday–Sunday week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from nl2query.ir import Period

_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}
_KANJI_NUM = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}


@dataclass(frozen=True)
class TimeHit:
    period: Period
    start: int
    end: int


def _months_back(d: date, n: int) -> date:
    y, m = d.year, d.month - n
    while m <= 0:
        m += 12
        y -= 1
    day = min(
        d.day,
        [
            31,
            29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28,
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][m - 1],
    )
    return date(y, m, day)


def _month_end(y: int, m: int) -> date:
    return (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)


def _fy_start(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def _num(s: str) -> int:
    if s.isdigit():
        return int(s)
    if s == "半":
        return 0
    return _KANJI_NUM.get(s, 0)


def _p(text: str, kind: str, start: date, end: date) -> Period:
    return Period(text=text, kind=kind, start=start.isoformat(), end=end.isoformat())  # type: ignore[arg-type]


_ERA_Y = r"(令和|平成|昭和)(元|\d{1,2})"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_ERA_Y + r"年度"), "era_fy"),
    (re.compile(r"(\d{4})年度"), "fy"),
    (re.compile(r"今年度|本年度"), "this_fy"),
    (re.compile(r"昨年度|前年度|去年度"), "last_fy"),
    (
        re.compile(
            r"(\d{4})年(\d{1,2})月(\d{1,2})日?(から|以降|~|〜)(\d{4})年(\d{1,2})月(\d{1,2})日?(まで)?"
        ),
        "range",
    ),
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日(以降|から)"), "since"),
    (re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(以降|から)"), "since"),
    (re.compile(r"(\d{4})年(\d{1,2})月(?!\d{1,2}日)"), "month"),
    (re.compile(r"(今年|本年|昨年|去年)の?(\d{1,2})月(?!\d{1,2}日)"), "rel_month"),
    # 「9月の」: this year's month, or last year's when it has not come yet
    (re.compile(r"(?<![\d年かヶヵカケ箇])(\d{1,2})月(?![\d間目])"), "bare_month"),
    (re.compile(_ERA_Y + r"年(?!度)(?!\d{1,2}月)"), "era_year"),
    (re.compile(r"(\d{4})年(?!度)(?!\d{1,2}月)"), "year"),
    (
        re.compile(
            r"(?:直近|過去|この|最近の|ここ)(\d+|[一二三四五六七八九十半])(?:か|ヶ|ヵ|カ|ケ|箇)?月(?:間)?"
        ),
        "months",
    ),
    (re.compile(r"(?:直近|過去|この|ここ)半年(?:間)?"), "half_year"),
    (re.compile(r"(?:直近|過去|この|ここ)(\d+|[一二三四五六七八九十])年(?:間)?"), "years"),
    (re.compile(r"(?:直近|過去|この|ここ)(\d+|[一二三四五六七八九十])週(?:間)?"), "weeks"),
    (re.compile(r"(?:直近|過去|この|ここ)(\d+|[一二三四五六七八九十])日(?:間)?"), "days"),
    (re.compile(r"今年(?!度)|本年(?!度)"), "this_year"),
    (re.compile(r"昨年(?!度)|去年(?!度)"), "last_year"),
    (re.compile(r"先月|前月"), "last_month"),
    (re.compile(r"今月|本月"), "this_month"),
    (re.compile(r"先週|前週"), "last_week"),
    (re.compile(r"今週"), "this_week"),
    (re.compile(r"昨日"), "yesterday"),
    (re.compile(r"今日|本日"), "today"),
]


def find_period(text: str, now: datetime) -> TimeHit | None:
    """First time expression in `text` (NFKC form), resolved against `now` (JST)."""
    today = now.date()
    best: TimeHit | None = None
    for pat, kind in _PATTERNS:
        m = pat.search(text)
        if not m:
            continue
        per = _resolve(kind, m, today)
        if per is None:
            continue
        hit = TimeHit(per, m.start(), m.end())
        if best is None or hit.start < best.start:
            best = hit
    if best is not None:
        best = _until_now(text, best, today)
    return best


# 「去年から今まで」「先月以降」「2025年4月から現在まで」: from the start of the expression to today
_UNTIL_NOW = re.compile(r"(?:から|以降|以来)(?:(?:今|現在|本日|今日)(?:まで|に至るまで)?)?")


def _until_now(text: str, hit: TimeHit, today: date) -> TimeHit:
    m = _UNTIL_NOW.match(text, hit.end)
    if m is None or m.end() == hit.end or hit.period.end is None:
        return hit
    per = hit.period.model_copy(
        update={"text": text[hit.start : m.end()], "end": today.isoformat()}
    )
    return TimeHit(per, hit.start, m.end())


def _resolve(kind: str, m: re.Match[str], today: date) -> Period | None:
    t = m.group(0)
    if kind in ("era_fy", "era_year"):
        y = _ERAS[m.group(1)] + (1 if m.group(2) == "元" else int(m.group(2)))
        if kind == "era_fy":
            return _p(t, "absolute", date(y, 4, 1), min(date(y + 1, 3, 31), today))
        return _p(t, "absolute", date(y, 1, 1), min(date(y, 12, 31), today))
    if kind == "fy":
        y = int(m.group(1))
        return _p(t, "absolute", date(y, 4, 1), min(date(y + 1, 3, 31), today))
    if kind == "this_fy":
        return _p(t, "relative", date(_fy_start(today), 4, 1), today)
    if kind == "last_fy":
        y = _fy_start(today) - 1
        return _p(t, "relative", date(y, 4, 1), date(y + 1, 3, 31))
    if kind == "range":
        a = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        b = date(int(m.group(5)), int(m.group(6)), int(m.group(7)))
        return _p(t, "absolute", a, b)
    if kind == "since":
        return _p(t, "absolute", date(int(m.group(1)), int(m.group(2)), int(m.group(3))), today)
    if kind == "month":
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            return None
        return _p(t, "absolute", date(y, mo, 1), min(_month_end(y, mo), today))
    if kind in ("rel_month", "bare_month"):
        mo = int(m.group(2) if kind == "rel_month" else m.group(1))
        if not 1 <= mo <= 12:
            return None
        if kind == "rel_month":
            y = today.year - (m.group(1) in ("昨年", "去年"))
        else:
            y = today.year if mo <= today.month else today.year - 1
        if date(y, mo, 1) > today:
            return None
        return _p(t, "relative", date(y, mo, 1), min(_month_end(y, mo), today))
    if kind == "year":
        y = int(m.group(1))
        return _p(t, "absolute", date(y, 1, 1), min(date(y, 12, 31), today))
    if kind == "months":
        n = _num(m.group(1))
        if n <= 0:
            return _p(t, "relative", _months_back(today, 6), today) if m.group(1) == "半" else None
        return _p(t, "relative", _months_back(today, n), today)
    if kind == "half_year":
        return _p(t, "relative", _months_back(today, 6), today)
    if kind == "years":
        return _p(t, "relative", _months_back(today, 12 * _num(m.group(1))), today)
    if kind == "weeks":
        return _p(t, "relative", today - timedelta(weeks=_num(m.group(1))), today)
    if kind == "days":
        return _p(t, "relative", today - timedelta(days=_num(m.group(1))), today)
    if kind == "this_year":
        return _p(t, "relative", date(today.year, 1, 1), today)
    if kind == "last_year":
        return _p(t, "relative", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    if kind == "last_month":
        first = today.replace(day=1)
        last = first - timedelta(days=1)
        return _p(t, "relative", last.replace(day=1), last)
    if kind == "this_month":
        return _p(t, "relative", today.replace(day=1), today)
    if kind == "last_week":
        monday = today - timedelta(days=today.weekday())
        return _p(t, "relative", monday - timedelta(days=7), monday - timedelta(days=1))
    if kind == "this_week":
        return _p(t, "relative", today - timedelta(days=today.weekday()), today)
    if kind == "yesterday":
        yday = today - timedelta(days=1)
        return _p(t, "relative", yday, yday)
    if kind == "today":
        return _p(t, "relative", today, today)
    return None
