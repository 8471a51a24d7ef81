"""Display-text fallback for terms no terminology table knows.

The parser marks such concepts ``resolved_by="display_text"`` (one ``text`` code: the normalised
mention). Before a plan runs, :func:`verify` checks them against the data's own display texts
(the ``display_norm`` columns of the flat views): a mention that is too short or too generic, or
that matches no record of its kind, turns the plan into ``clarify`` — a fallback never answers
with a confident 0 or with records of another kind.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nl2query.ir import Concept, QueryPlan, clarify

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
from nl2query.textnorm import norm

# words that name a category, not a concept: matching them on display text would be a guess
GENERIC = frozenset(
    [
        "薬",
        "薬剤",
        "お薬",
        "内服薬",
        "注射",
        "注射薬",
        "外用薬",
        "検査",
        "検査値",
        "血液検査",
        "病気",
        "疾患",
        "病名",
        "診断名",
        "症状",
        "アレルギー",
        "食物",
        "食べ物",
        "もの",
        "何か",
        "何",
        "なに",
        "どれ",
        "その他",
        "ほか",
        "他",
        "治療",
        "治療薬",
        "処方薬",
        "持病",
        "合併症",
        "既往歴",
        "感染",
        "感染症",
        "がん",
        "癌",
        "腫瘍",
        "炎症",
        "痛み",
        "発熱",
        "熱",
        "値",
        "数値",
        "結果",
        "データ",
        "記録",
    ]
)
_KANA_ONLY = re.compile(r"^[ァ-ヶー]+$")

_MAX_DISTINCT_DISPLAYS = 12


def plausible(text: str) -> bool:
    t = norm(text)
    if not t or t in {norm(g) for g in GENERIC}:
        return False
    if len(t) < 2:
        return False
    if _KANA_ONLY.match(t) and len(t) < 3:
        return False
    return not re.fullmatch(r"[0-9a-z.\-]+", t) or len(t) >= 3


def _fallback_concepts(plan: QueryPlan) -> list[Concept]:
    out = [c for c in plan.concepts if c.resolved_by == "display_text"]
    for cr in plan.criteria:
        for c in (cr.concept, cr.reason):
            if c is not None and c.resolved_by == "display_text":
                out.append(c)
    return out


def _table_for(kind: str):  # type: ignore[no-untyped-def]
    from nl2query import views

    return {
        "condition": views.flat_condition,
        "medication": views.flat_medication_request,
        "lab": views.flat_observation,
        "allergen": views.flat_allergy,
    }[kind]


def display_hits(engine: Engine, kind: str, text: str) -> int:
    """Distinct display texts of records of `kind` containing the normalised `text`."""
    from sqlalchemy import func, select

    t = _table_for(kind)
    pat = "%" + norm(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    q = select(func.count(func.distinct(t.c.display_norm))).where(
        t.c.display_norm.like(pat, escape="\\")
    )
    with engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


def verify(plan: QueryPlan, engine: Engine | None) -> QueryPlan:
    """Return `plan`, or a clarify plan when a display-text fallback is not trustworthy.

    Without an engine (a non-SQL executor) a fallback cannot be checked: ask back.
    """
    if plan.intent != "answer":
        return plan
    for c in _fallback_concepts(plan):
        if engine is None:
            return clarify(
                f"『{c.text}』は用語表にありません。正式な病名・薬剤名・検査名で指定してください。"
            )
        if not plausible(c.text):
            return clarify(
                f"『{c.text}』が何を指すか特定できません。正式な病名・薬剤名・検査名で指定してください。"
            )
        try:
            n = display_hits(engine, c.kind, c.text)
        except Exception:  # noqa: BLE001 - views missing: do not guess
            n = 0
        if n == 0:
            return clarify(
                f"『{c.text}』は用語表になく、データの表示名にも見つかりませんでした。"
                "別の名称(正式名・一般名・略語)で指定してください。"
            )
        if n > _MAX_DISTINCT_DISPLAYS:
            return clarify(
                f"『{c.text}』は多くの異なる記録名に一致します。より具体的な名称で指定してください。"
            )
    return plan
