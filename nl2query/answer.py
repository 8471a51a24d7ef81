"""Japanese answer text naming the numbers and the period."""

from __future__ import annotations

from nl2query.execute import Result
from nl2query.ir import Concept, Criterion, QueryPlan


def _period(plan: QueryPlan) -> str:
    p = plan.period
    if p is None:
        for c in plan.criteria:
            if c.period is not None:
                p = c.period
                break
    if p is None:
        return ""
    label = f"{p.text}（{p.start}〜{p.end}）" if p.text else f"{p.start}〜{p.end}"
    return f"期間: {label}。"


_CMP = {"ge": "以上", "gt": "超", "le": "以下", "lt": "未満", "eq": ""}
_CMP_SIGN = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "="}


def _label(concept: Concept | None) -> str:
    """How the answer names a concept: its resolved label, else the words of the question."""
    return (concept.label or concept.text) if concept is not None else ""


def _criterion_text(cr: Criterion) -> str:
    """A patient-level condition in words ("" for those told by 対象/期間 alone)."""
    name = _label(cr.concept)
    if cr.kind == "age" and cr.op is not None and cr.value is not None:
        return f"{_fmt(cr.value)}歳{_CMP[cr.op]}"
    if cr.kind == "sex" and cr.sex is not None:
        return "男性" if cr.sex == "male" else "女性"
    if cr.kind in ("lab_latest", "lab_any") and cr.op is not None and cr.value is not None:
        which = "最新値" if cr.kind == "lab_latest" else "いずれかの値"
        return f"{name}の{which} {_CMP_SIGN[cr.op]} {_fmt(cr.value)}"
    if cr.kind == "condition_first":
        return f"{name}（期間内に初めて診断）"
    if cr.kind == "medication_first":
        return f"{name}（期間内に新規開始）"
    if cr.kind == "lab_any" and cr.op is None:
        return f"{name}の測定"
    if cr.kind == "admitted":
        where = "・".join(x for x in (_label(cr.reason), cr.ward, cr.department) if x)
        return f"入院あり（{where}）" if where else "入院あり"
    if cr.kind == "currently_admitted":
        where = "・".join(x for x in (cr.ward, cr.department) if x)
        return f"入院中（{where}）" if where else "入院中"
    if cr.kind == "medication" and cr.active:
        return f"{name}（処方中）"
    return ""


def _conditions(plan: QueryPlan) -> str:
    """条件 (ages, sex, lab thresholds, wards) and 除外 (negated criteria): the answer names
    every restriction the query applied, not only the concepts."""
    conds, excluded = [], []
    for cr in plan.criteria:
        text = _criterion_text(cr)
        if cr.negate:
            excluded.append(text or _label(cr.concept) or cr.kind)
        elif text:
            conds.append(text)
    out = ("条件: " + "、".join(conds) + "。") if conds else ""
    return out + (("除外: " + "、".join(excluded) + "。") if excluded else "")


def _concepts(plan: QueryPlan) -> str:
    names = [_label(c) for c in plan.concepts]
    names += [
        _label(cr.concept) for cr in plan.criteria if cr.concept is not None and not cr.negate
    ]
    fb = [c for c in plan.concepts if c.resolved_by == "display_text"]
    fb += [
        cr.concept
        for cr in plan.criteria
        if cr.concept and cr.concept.resolved_by == "display_text"
    ]
    note = "".join(f"『{c.text}』は用語表になく、データの表示名で照合しました。" for c in fb)
    return ("対象: " + "・".join(dict.fromkeys(names)) + "。" + note) if names else ""


def _fmt(v: object, decimals: int | None = None) -> str:
    """Numbers as written by people: 7.8, 120; with ``decimals`` asked for, exactly that many
    (「小数点以下1桁で」 → 1.0, not 1)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and decimals is not None:
        return f"{v:.{decimals}f}"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def render(plan: QueryPlan, res: Result) -> str:
    head = _concepts(plan) + _conditions(plan) + _period(plan)
    if res.answer_type == "count":
        unit = "件" if plan.count_unit == "records" else "人"
        return f"{head}該当は{res.count}{unit}です。"
    if res.answer_type == "patients":
        if not res.patients:
            return f"{head}該当する患者はいません（該当なし）。"
        ids = "、".join(p["identifier"] or p["id"] for p in res.patients[:20])
        more = "ほか" if len(res.patients) > 20 else ""
        return f"{head}該当する患者は{len(res.patients)}人です（患者番号: {ids}{more}）。"
    if res.answer_type == "boolean":
        if res.boolean is None:
            return f"{head}判定できるデータがありません。"
        # Stated as the fact, not as a bare はい/いいえ: to a negatively phrased question
        # (「糖尿病ではないですか？」) a bare いいえ would read as the opposite.
        if plan.aggregate in ("rose", "fell"):
            moved = "上昇" if plan.aggregate == "rose" else "低下"
            fact = f"{moved}しています" if res.boolean else f"{moved}していません"
            return f"{head}{'はい' if res.boolean else 'いいえ'}、{fact}。"
        return f"{head}{'該当あり' if res.boolean else '該当なし'}。"
    if res.answer_type == "values":
        if not res.values:
            return f"{head}該当する値はありません。"
        parts = []
        for v in res.values:
            s = f"{_fmt(v['value'], plan.decimals)}{v.get('unit') or ''}"
            if v.get("date"):
                s += f"（{v['date']}）"
            parts.append(s)
        return f"{head}結果: " + "、".join(parts) + "。"
    return head
