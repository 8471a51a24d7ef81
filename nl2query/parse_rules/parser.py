"""Rules parser. Works on the NFKC question plus its normalised form (kana/width folded).

Steps: patient reference → vague words (→ clarify) → concept mentions (terms tables) → time
expression → the question form (count / list / values / boolean …) → criteria per clause. When
a piece is missing or left over the parser raises :class:`Incomplete` instead of guessing; the
pipeline then hands off to the LLM (if configured) or answers clarify/refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from nl2query.ir import (
    Comparator,
    Concept,
    Criterion,
    PatientRef,
    Period,
    QueryPlan,
    clarify,
    refuse,
)
from nl2query.parse_rules.lexicon import _WARD as _WARD_RE
from nl2query.parse_rules.lexicon import (
    DEPARTMENTS,
    OUT_OF_SCOPE,
    VAGUE,
    VAGUE_PATIENT,
    ward_in,
)
from nl2query.parse_rules.unknown import _overlaps, _q_offset, refine, unexplained
from nl2query.resolve import morph
from nl2query.resolve.terms import Mention, find_allergen, find_mentions, to_concept
from nl2query.resolve.time import TimeHit, find_period
from nl2query.textnorm import nfkc, norm


class Incomplete(Exception):
    """The rules could not build a complete plan (reason is for logs/the answer text)."""


_PATNO = re.compile(
    r"(?:患者番号|患者ID|患者id|ID|id|No\.?)[:: ]?(\d{6,10})|(\d{6,10})番"
    r"|(?<!\d)(\d{6,10})(?=さん|様|氏|の患者|の方|の人)"  # 「02593901さん」「05344430の患者」
)
# 「1942年9月10日生(まれ)」 or 「生年月日1942年9月10日」 (a bare date is a period, not a birth date)
_BIRTH = re.compile(
    r"(?<=生年月日)[:： は]*(\d{4})年(\d{1,2})月(\d{1,2})日|(\d{4})年(\d{1,2})月(\d{1,2})日生"
    r"|(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})生"  # 「1929/10/19生」
)
_ERA_BIRTH = re.compile(
    r"(?<=生年月日)[:： は]*(昭和|平成|大正|令和)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日"
    r"|(昭和|平成|大正|令和)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日生"
)
_KANA = re.compile(r"(?:カナ|かな|フリガナ|ふりがな)(?:氏名|名)?[「『\"]([ァ-ヶー\s]+)[」』\"]")
# 「松本明さん」「松本 明 様」, or a name right before its birth date 「松本明（1929年10月19日生）」
_NAME = re.compile(
    r"([一-龥々〆ヶ]{1,5}[ \u3000]?[一-龥々〆ヶぁ-んァ-ヶー]{1,6})"
    r"(?:[ \u3000]?(?:さん|様|氏)|(?=[(（](?:生年月日[:： ]?)?(?:\d{4}|昭和|平成|大正|令和)))"
)
_CMP = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:%|mg/dl|mg/dL|mEq/L|mmol/L|g/dl|g/dL|mmHg|kg|U/L|pg/mL|ml/min/1\.73m2|mL/min/1\.73m2)?"
    r"\s*(以上|以下|未満|を超え|超|より高|より低|より大き|より小さ|を下回|を上回|に満たな)"
)
_AGE = re.compile(
    r"(\d{1,3})歳(以上|以下|未満|超|を超え|より上|より下|に満たな|より若|より年上|を上回|を下回)"
)
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "大正": 1911}

_CMP_OP: dict[str, Comparator] = {
    "以上": "ge",
    "以下": "le",
    "未満": "lt",
    "を超え": "gt",
    "超": "gt",
    "より高": "gt",
    "より大き": "gt",
    "を上回": "gt",
    "より低": "lt",
    "より小さ": "lt",
    "を下回": "lt",
    "より上": "gt",
    "より下": "lt",
    "に満たな": "lt",
    "より若": "lt",
    "より年上": "gt",
}

_ACTIVE = re.compile(
    r"出ている|出てい|出されている|服用中|内服中|処方中|投与中|継続中|使用中|服薬中|処方されている|処方されてい|服用している|服用してい|飲んでいる|飲んでい|内服している|内服してい|使っている|使ってい|処方を受けている|今も|現在"
)
_NEG = re.compile(
    r"ない|なし|無し|未処方|していな|されていな|ていな|ていません|ておりません|ありません"
)
# Right after a disease name: 「糖尿病がない / のない / でない / ではない / じゃない / なし / 以外 /
# を除く / の既往がない / と診断されていない / を持たない」 — the patient must NOT have it.
_CONDITION_NEG = re.compile(
    r"(の既往|の診断|の病名|の記録|歴)?(では|でも|じゃ|が|は|の|で|も)?(ない|無い|なし|無し|ありません)"
    r"|でも[^、。]{1,20}?でも(ない|無い|ありません)"  # 「AでもBでもない」: neither A nor B
    r"|(の患者|の方|の人)?(以外|を除)"
    r"|て(い)?(ない|ません)"  # 「1.2を超えていない」
    r"|(と|で)?(診断|登録)?され(てい|て|た(こと|事)?が)?な"
    r"|を(持た|有さ|患ってい)な"
)
# a threshold reached at some time: 「5.5以上だった」「8以上になった」「…を記録した」
_WAS = re.compile(
    r"(?:の値)?(?:だった|であった|になった|となった|を記録|の(?:結果|値)が(?:あっ|出)|が(?:あっ|出))"
)
_INVERTED: dict[str, Comparator] = {"ge": "lt", "gt": "le", "le": "gt", "lt": "ge", "eq": "eq"}
_STATISTIC = re.compile(
    r"平均|中央値|合計|総数|最高|最低|最大|最小|一番|いちばん|最も|最年|年齢|何歳|割合|比率|率は"
)
_COUNT = re.compile(r"何人|人数|患者数|何名|数は|数を|の数|何件|件数")
_LIST = re.compile(
    r"一覧|リスト|誰|だれ|教えて|出して|挙げて|見せて|患者は[?？]?$|人は[?？]?$|患者を|どの患者|抽出"
    r"|列挙|洗い出|ピックアップ|患者$|人$|方$"  # a bare noun phrase 「…の患者」 asks for the list
)


# 「(患者の)eGFRは最近いくつ？」: one patient's latest value, not a vague period
_RECENT_VALUE = re.compile(r"最近(?:の)?(?:値|数値|結果)?(?:は|って)?(?:いくつ|どう|何)")
_MED_COUNT = re.compile(r"何種類|いくつ|種類数|何剤|何品目|(?:薬|処方)の(?:数|種類)")


@dataclass
class Ctx:
    q: str  # NFKC question
    qn: str  # normalised (kana folded) question
    now: datetime


def parse(question: str, now: datetime) -> QueryPlan:
    q = nfkc(question).strip()
    ctx = Ctx(q, norm(q), now)
    for pat, why in OUT_OF_SCOPE:
        if re.search(pat, q):
            return refuse(why)
    for pat, why in VAGUE_PATIENT:
        if re.search(pat, q):
            return clarify(why)
    patient = _patient_ref(q)
    for pat, why in VAGUE:
        if re.search(pat, q):
            return clarify(why)
    hit = find_period(q, now)
    period = hit.period if hit else None
    blocked = _blocked_spans(q, hit, patient)
    mentions = refine(ctx.q, find_mentions(ctx.q), blocked)
    left = unexplained(ctx.q, mentions, blocked)
    if left:
        raise Incomplete(f"unexplained words: {len(left)}")
    if any(m.kind == "lab" and m.text == "血圧" for m in mentions) and not re.search(
        r"上|下|収縮|拡張|最高血圧|最低血圧", q
    ):  # two measurements share the name: answering one of them would be a guess
        return clarify("血圧は収縮期（上）と拡張期（下）のどちらか指定してください。")
    if _disjunction(ctx, mentions):
        return clarify(
            "「AかB」「AまたはB」のように、いずれかに該当する条件にはまだ対応していません。"
            "条件ごとに分けて質問してください。"
        )
    if (
        re.search(r"(?<!一番)(?<!いちばん)(?<!最も)最近(?!の\d)|しばらく|近頃", q)
        and period is None
        and not (
            patient is not None and len(_lab_mentions(mentions)) == 1 and _RECENT_VALUE.search(q)
        )
    ):
        return clarify("「最近」「しばらく」の期間を具体的に指定してください(例: 直近3か月)。")
    if patient is not None:
        plan = _patient_question(ctx, patient, mentions, period)
    elif _looks_patient_find(q):
        raise Incomplete("patient lookup without a usable name")
    else:
        plan = _cohort_question(ctx, mentions, period)
    _check_numbers_used(q, plan, mentions, blocked)
    return plan


# 「1日量」「1回量」「入院日を1日目として」: numbers that are part of a fixed phrase (q is NFKC)
_FIXED_NUMBER = re.compile(r"[1一](?:日|回)|\d+日目")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _check_numbers_used(
    q: str, plan: QueryPlan, mentions: list[Mention], blocked: list[tuple[int, int]]
) -> None:
    """Every number of the question outside patient numbers, dates, periods, wards and term
    names must reach the plan (an age bound, a threshold, N of the last N, decimals …).
    A number the plan does not use means a condition was dropped: abstain instead of
    answering a broader question (「50歳に満たない」 once fell through this way)."""
    if plan.intent != "answer":
        return
    spans = list(blocked) + [f.span() for f in _FIXED_NUMBER.finditer(q)]
    numbers = [m for m in _NUMBER.finditer(q) if not _overlaps(m.span(), spans)]
    if not numbers:  # the common case: nothing to check, no offsets or plan dump needed
        return
    terms = [(_q_offset(q, m.start), _q_offset(q, m.end)) for m in mentions]
    used = {round(v, 6) for v in _plan_numbers(plan.model_dump())}
    for m in numbers:
        if not _overlaps(m.span(), terms) and round(float(m.group()), 6) not in used:
            raise Incomplete("a number of the question is not used by the plan")


def _plan_numbers(o: object) -> list[float]:
    if isinstance(o, bool):
        return []
    if isinstance(o, (int, float)):
        return [float(o)]
    if isinstance(o, dict):
        return [x for k, v in o.items() if k not in ("codes", "text") for x in _plan_numbers(v)]
    if isinstance(o, list):
        return [x for v in o for x in _plan_numbers(v)]
    return []


# --------------------------------------------------------------------------- patient reference


def _blocked_spans(
    q: str, hit: TimeHit | None, patient: PatientRef | None
) -> list[tuple[int, int]]:
    """Spans that are not clinical terms: patient reference, time expression, wards, departments."""
    spans: list[tuple[int, int]] = []
    for pat in (_PATNO, _BIRTH, _ERA_BIRTH, _KANA):
        for m in pat.finditer(q):
            spans.append(m.span())
    if patient is not None and patient.name:
        for m in _NAME.finditer(q):
            a = m.start(1) + m.group(1).rfind("の") + 1
            spans.append((a, m.end()))
    if hit is not None:
        spans.append((hit.start, hit.end))
    for m in _WARD_RE.finditer(q):
        spans.append(m.span())
    for d in DEPARTMENTS:
        for m in re.finditer(re.escape(d), q):
            spans.append(m.span())
    return spans


def _patient_ref(q: str) -> PatientRef | None:
    m = _PATNO.search(q)
    if m:
        return PatientRef(identifier=m.group(1) or m.group(2) or m.group(3))
    birth = None
    b = _BIRTH.search(q)
    if b:
        y, mo, d = (g for g in b.groups() if g is not None)
        birth = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
    else:
        e = _ERA_BIRTH.search(q)
        if e:
            era, ey, mo, d = (g for g in e.groups() if g is not None)
            year = _ERAS[era] + (1 if ey == "元" else int(ey))
            birth = f"{year:04d}-{int(mo):02d}-{int(d):02d}"
    k = _KANA.search(q)
    if k:
        return PatientRef(kana=norm(k.group(1)), birth_date=birth)
    n = _NAME.search(q)
    if n:
        name = n.group(1)
        if "の" in name:
            name = name.rsplit("の", 1)[1]
        name = re.sub(r"[ \u3000]", "", name)
        name = re.sub(r"^(?:患者|生まれ|生)", "", name)
        name = re.sub(r"(?:さん|様|氏)$", "", name)
        if len(name) >= 2:
            return PatientRef(name=name, birth_date=birth)
    return None


def _looks_patient_find(q: str) -> bool:
    return bool(re.search(r"患者番号は|患者IDは|患者番号を教|を探して", q))


# --------------------------------------------------------------------------- single patient


def _lab_mentions(ms: list[Mention]) -> list[Mention]:
    return [m for m in ms if m.kind == "lab"]


def _patient_question(
    ctx: Ctx, patient: PatientRef, ms: list[Mention], period: Period | None
) -> QueryPlan:
    q = ctx.q
    if (
        re.search(r"患者番号|患者ID|番号は|IDは", q)
        and patient.identifier is None
        and re.search(r"(患者番号|患者ID|ID)(は|を)", q)
    ):
        return QueryPlan(
            intent="answer",
            subject="Patient",
            patient=patient,
            aggregate="list",
            answer_type="patients",
        )
    if re.search(r"入院何日目|入院して何日|入院\d*日目|入院(?:して|後)?[^、。?？]{0,6}何日目", q):
        return QueryPlan(
            intent="answer",
            subject="Encounter",
            patient=patient,
            aggregate="day_of_stay",
            answer_type="values",
        )
    if re.search(r"何歳|年齢|歳ですか", q) and not ms:
        return QueryPlan(
            intent="answer",
            subject="Patient",
            patient=patient,
            aggregate="age",
            answer_type="values",
        )
    sex = re.search(r"(男性|女性|男|女)(ですか|でしょうか|か[?？]|\?|？)", q)
    if sex and not ms:
        crit = Criterion(kind="sex", sex="male" if sex.group(1).startswith("男") else "female")
        return QueryPlan(
            intent="answer",
            subject="Patient",
            patient=patient,
            criteria=[crit],
            aggregate="exists",
            answer_type="boolean",
        )
    if _MED_COUNT.search(q) and re.search(r"薬|処方", q) and not ms:
        return QueryPlan(
            intent="answer",
            subject="MedicationRequest",
            patient=patient,
            aggregate="distinct_count",
            answer_type="count",
        )
    if re.search(r"何回入院|入院回数|入院した回数", q):
        return QueryPlan(
            intent="answer",
            subject="Encounter",
            patient=patient,
            period=period,
            criteria=[Criterion(kind="admitted", period=period)],
            aggregate="count",
            count_unit="records",
            answer_type="count",
        )
    if (
        re.search(r"入院中|入院している|入院してい", q)
        and re.search(r"[?？か]$|ですか|ますか", q)
        and not ms
    ):
        return QueryPlan(
            intent="answer",
            subject="Patient",
            patient=patient,
            criteria=[Criterion(kind="currently_admitted")],
            aggregate="exists",
            answer_type="boolean",
        )
    allergen = find_allergen(ctx.qn) if "アレルギー" in q else None
    unknown_allergen = next((m for m in ms if m.kind == "allergen" and not m.key), None)
    if allergen or unknown_allergen:
        if allergen:
            c = to_concept("allergen", allergen, allergen)
        else:
            assert unknown_allergen is not None
            c = to_concept("allergen", "", unknown_allergen.text)
        return QueryPlan(
            intent="answer",
            subject="Patient",
            patient=patient,
            criteria=[Criterion(kind="allergy", concept=c)],
            aggregate="exists",
            answer_type="boolean",
        )
    if len(ms) != 1:
        raise Incomplete(f"patient question with {len(ms)} concepts")
    m = ms[0]
    concept = to_concept(m.kind, m.key, m.text)
    if m.kind == "medication":
        return _patient_med(ctx, patient, concept, period)
    if m.kind == "condition":
        if re.search(r"診断|ある|あります|いる|罹患|既往|か[?？]?$", q):
            return QueryPlan(
                intent="answer",
                subject="Patient",
                patient=patient,
                criteria=[Criterion(kind="condition", concept=concept, period=period)],
                aggregate="exists",
                answer_type="boolean",
            )
        raise Incomplete("condition question form")
    if m.kind == "lab":
        return _patient_lab(ctx, patient, concept, period)
    raise Incomplete("unsupported concept kind")


def _patient_med(
    ctx: Ctx, patient: PatientRef, concept: Concept, period: Period | None
) -> QueryPlan:
    q = ctx.q
    if re.search(r"[1一]日(?:量|何|の量|の投与量|総量|あたり|分|の服用量)", q):
        return QueryPlan(
            intent="answer",
            subject="MedicationRequest",
            patient=patient,
            concepts=[concept],
            aggregate="daily_dose",
            answer_type="values",
        )
    if re.search(r"[1一]回(?:量|何|の量|の投与量|あたり|分|の服用量)", q):
        return QueryPlan(
            intent="answer",
            subject="MedicationRequest",
            patient=patient,
            concepts=[concept],
            aggregate="single_dose",
            answer_type="values",
        )
    if re.search(r"[?？か]$|ある|いる|ますか|ですか", q):
        active = bool(_ACTIVE.search(q)) and not re.search(r"ことはある|ことがある|たことは|歴", q)
        return QueryPlan(
            intent="answer",
            subject="MedicationRequest",
            patient=patient,
            concepts=[concept],
            period=period,
            criteria=[
                Criterion(kind="medication", concept=concept, active=active or None, period=period)
            ],
            aggregate="exists",
            answer_type="boolean",
        )
    raise Incomplete("medication question form")


# compared with the previous value: 「前回より」「前回から」「前回と比べて」「前回に比べ」
_SINCE_LAST = r"前回(?:より|から|と比べ(?:て|ると)?|に比べ(?:て|ると)?|と比較して)[^、。?？]{0,4}?"
# how much it changed (a number), before the yes/no forms 「上がった？」
_DIFFERENCE = re.compile(
    r"差|変化量|(?:どれ|どの)(?:くらい|ぐらい|だけ|程度)[^、。?？]{0,3}?(?:変|上|下|増|減|高|低)"
)


def _patient_lab(
    ctx: Ctx, patient: PatientRef, concept: Concept, period: Period | None
) -> QueryPlan:
    q = ctx.q
    base = dict(
        intent="answer", subject="Observation", patient=patient, concepts=[concept], period=period
    )
    if re.search(r"古い順|昇順|古いもの(?:から|順)|古い方から|時系列(?:順|で)", q):
        base["order"] = "oldest_first"
    if _DIFFERENCE.search(q):
        return QueryPlan(**base, aggregate="difference", answer_type="values")  # type: ignore[arg-type]
    if re.search(_SINCE_LAST + r"(上|高|増)", q):
        return QueryPlan(**base, aggregate="rose", answer_type="boolean")  # type: ignore[arg-type]
    if re.search(_SINCE_LAST + r"(下|低|減)", q):
        return QueryPlan(**base, aggregate="fell", answer_type="boolean")  # type: ignore[arg-type]
    if re.search(r"前回(?:と|に)(?:比べ|比較)|前回比|増減|変化|変わ", q):
        return QueryPlan(**base, aggregate="difference", answer_type="values")  # type: ignore[arg-type]
    dec = None
    d = re.search(r"小数点以下(\d)桁|小数第(\d)位", q)
    if d:
        dec = int(d.group(1) or d.group(2))
    if re.search(r"平均", q):
        return QueryPlan(**base, aggregate="average", decimals=dec, answer_type="values")  # type: ignore[arg-type]
    if re.search(r"一番低|最も低|最低|最小|いちばん低", q):
        return QueryPlan(**base, aggregate="min", answer_type="values")  # type: ignore[arg-type]
    if re.search(r"一番高|最も高|最高|最大|いちばん高|ピーク", q):
        return QueryPlan(**base, aggregate="max", answer_type="values")  # type: ignore[arg-type]
    if re.search(r"何回|回数|何件|件数", q):
        return QueryPlan(**base, aggregate="count", count_unit="records", answer_type="count")  # type: ignore[arg-type]
    n = re.search(r"(?:直近|最後の|最新|最近の|過去)(\d+|[一二三四五])回|(\d+)回分", q)
    if n:
        k = n.group(1) or n.group(2)
        num = int(k) if k.isdigit() else "一二三四五".index(k) + 1
        return QueryPlan(**base, aggregate="latest", n=num, answer_type="values")  # type: ignore[arg-type]
    if re.search(r"全部|すべて|全て|推移|一覧|履歴", q):
        if period is None:
            raise Incomplete("all values without a period")
        return QueryPlan(**base, aggregate="all", answer_type="values")  # type: ignore[arg-type]
    if re.search(
        r"検査を受け|測定して|測定した|測ってい|測った[?？か]|検査してい|検査した[?？か]|ある[?？か]?$|あります",
        q,
    ):
        crit = Criterion(kind="lab_any", concept=concept, period=period)
        return QueryPlan(
            intent="answer",
            subject="Patient",
            patient=patient,
            criteria=[crit],
            aggregate="exists",
            answer_type="boolean",
        )
    if re.search(
        r"最新|一番最近|直近|最後|いちばん最近|最近測|前回|現在の|今の|値は|値を|いくつ|は[?？]?$"
        r"|何(?:キロ|kg|センチ|cm|ミリ|mg|%|点|度)",
        q,
    ):
        if period is not None:
            raise Incomplete("latest value with a period")
        return QueryPlan(**base, aggregate="latest", n=1, answer_type="values")  # type: ignore[arg-type]
    raise Incomplete("lab question form")


# --------------------------------------------------------------------------- cohort


_CLAUSE_SPLIT = re.compile(
    r"、|,|かつ|および|及び|のうち|のなかで|の中で|で、|ており|ていて|していて"
)


def _cohort_question(ctx: Ctx, ms: list[Mention], period: Period | None) -> QueryPlan:
    q = ctx.q
    criteria: list[Criterion] = []
    used: set[int] = set()
    # age / sex
    for a in _AGE.finditer(q):
        op = _CMP_OP[a.group(2)]
        if _CONDITION_NEG.match(q[a.end() :]):  # 「65歳以上でない」 = under 65
            op = _INVERTED[op]
        criteria.append(Criterion(kind="age", op=op, value=float(a.group(1))))
    for pattern, sex in ((r"男性|男の", "male"), (r"女性|女の", "female")):
        found = re.search(pattern, q)
        if found:  # 「男性以外 / 男性でない」: the patient must not be of that sex
            neg = bool(_CONDITION_NEG.match(q[found.end() :]))
            criteria.append(Criterion(kind="sex", sex=sex, negate=neg))  # type: ignore[arg-type]
    # encounters
    ward = ward_in(q)
    dept = next((d for d in DEPARTMENTS if d in q), None)
    current_adm = bool(
        re.search(r"現在入院|今入院|いま入院|入院中|入院している|にいる入院|病棟にいる", q)
    )
    if (
        current_adm
        and re.search(r"入院中", q) is None
        and re.search(r"入院し", q)
        and period is not None
    ):
        current_adm = False
    admitted_period = (
        bool(re.search(r"入院した|入院患者数|入院患者は|入院となった|入院された|で入院", q))
        and not current_adm
    )
    if current_adm:
        # 「入院していない / 入院中でない / 入院中ではない」: not currently admitted
        neg = bool(
            re.search(
                r"入院(中)?(して|し)?(い)?(ない|ません)|入院中(では|で|じゃ)(ない|ありません)", q
            )
        )
        criteria.append(
            Criterion(kind="currently_admitted", ward=ward, department=dept, negate=neg)
        )
    elif admitted_period:
        reason = None
        for i, m in enumerate(ms):
            if m.kind == "condition" and _raw_after(ctx, m).startswith("で入院"):
                reason = to_concept(m.kind, m.key, m.text)
                used.add(i)
        if period is None:
            raise Incomplete("admissions without a period")
        criteria.append(
            Criterion(kind="admitted", period=period, reason=reason, ward=ward, department=dept)
        )
    elif ward or (dept and "入院" in q):
        raise Incomplete("ward/department without admission context")
    # allergy
    if "アレルギー" in q:
        key = find_allergen(ctx.qn)
        unknown = [i for i, m in enumerate(ms) if m.kind == "allergen" and not m.key]
        used.update(unknown)
        if key is not None:
            concept = to_concept("allergen", key, key)
        elif unknown:
            concept = to_concept("allergen", "", ms[unknown[0]].text)
        else:
            raise Incomplete("unknown allergen")
        after_allergy = q[q.index("アレルギー") + len("アレルギー") :]
        criteria.append(
            Criterion(
                kind="allergy", concept=concept, negate=bool(_CONDITION_NEG.match(after_allergy))
            )
        )
        for i, m in enumerate(ms):
            if m.kind in ("medication", "lab") and "アレルギー" in _raw_after(ctx, m)[:8]:
                used.add(i)
    # concept mentions
    period_used = False
    for i, m in enumerate(ms):
        if i in used:
            continue
        concept = to_concept(m.kind, m.key, m.text)
        after = re.sub(r"[(（][^)）]*[)）]", "", _raw_after(ctx, m))
        clause_after = _CLAUSE_SPLIT.split(after, maxsplit=1)[0]
        if m.kind == "condition":
            if re.search(r"新た|新規|初めて", q) and period is not None:
                criteria.append(Criterion(kind="condition_first", concept=concept, period=period))
                period_used = True
            else:
                criteria.append(
                    Criterion(
                        kind="condition",
                        concept=concept,
                        negate=bool(_CONDITION_NEG.match(after)),
                    )
                )
        elif m.kind == "medication":
            neg = bool(_NEG.search(clause_after)) or morph.negated_after(
                q, len(q) - len(_raw_after(ctx, m))
            )
            if (
                re.search(
                    r"新しく開始|新規に開始|新規開始|新たに開始|開始した|開始され|始めた|始まっ|導入"
                    r"|(?:新しく|新たに|新規に)処方",
                    clause_after,
                )
                and period is not None
            ):
                criteria.append(
                    Criterion(kind="medication_first", concept=concept, period=period, negate=neg)
                )
                period_used = True
            elif period is not None and re.search(
                r"処方された|処方があ|処方歴|投与された|出された", clause_after
            ):
                criteria.append(
                    Criterion(kind="medication", concept=concept, period=period, negate=neg)
                )
                period_used = True
            elif neg and re.search(
                r"(こと|事)(が|は|の)?(ない|無い|ありません)|歴(が|は|の)?(ない|無い|なし)|一度も",
                clause_after,
            ):  # 「処方されたことがない」: no order at any time, not just none active
                criteria.append(Criterion(kind="medication", concept=concept, negate=True))
            elif (
                _ACTIVE.search(clause_after)
                or re.search(r"現在|今も|いま", q)
                or re.search(r"処方され|服用|内服|投与", clause_after)
            ):
                criteria.append(
                    Criterion(kind="medication", concept=concept, active=True, negate=neg)
                )
            else:
                raise Incomplete("medication without a usage verb")
        elif m.kind == "lab":
            raw_after = _raw_after(ctx, m)
            rest = re.sub(
                r"^(?:の(?:最新|直近|最終|最新の|直近の)?値(?:が|は)|の(?:最新|直近)(?:の)?結果が|が|は|値が)",
                "",
                raw_after,
            )
            rest = re.sub(r"^(?:一度でも|1回でも|一回でも)", "", rest)  # 「Kが一度でも5.5以上」
            cm = _CMP.match(rest)
            if cm:
                op = _CMP_OP[cm.group(2)]
                if _CONDITION_NEG.match(rest[cm.end() :]):  # 「7以上でない」 = below 7
                    op = _INVERTED[op]
                val = float(cm.group(1))
                if re.search(r"一度でも|いずれか|1回でも|一回でも", q) or (
                    period is not None and _WAS.match(rest[cm.end() :])
                ):  # 「直近半年でKが5.5以上だった」: any result in the period
                    criteria.append(
                        Criterion(kind="lab_any", concept=concept, op=op, value=val, period=period)
                    )
                    period_used = True
                else:
                    criteria.append(Criterion(kind="lab_latest", concept=concept, op=op, value=val))  # type: ignore[arg-type]
            elif re.search(r"測定|検査|測っ|測ら|採血|測って", clause_after):
                neg = bool(re.search(r"一度も|していな|ていな|ない|なし", clause_after))
                if period is None:
                    raise Incomplete("lab measurement without a period")
                criteria.append(
                    Criterion(kind="lab_any", concept=concept, period=period, negate=neg)
                )
                period_used = True
            else:
                raise Incomplete("lab without threshold")
    if not criteria:
        raise Incomplete("no criteria")
    if period is not None and not period_used and not admitted_period:
        # a period that applies to nothing: attach to diagnosis criteria (onset in period) or give up
        conds = [c for c in criteria if c.kind == "condition"]
        if len(conds) == 1 and re.search(r"診断", q):
            conds[0].period = period
        else:
            raise Incomplete("period not attached to any criterion")
    pred = None if (_COUNT.search(q) or _LIST.search(q)) else morph.predicate(q)
    if _COUNT.search(q) or pred == "count":
        unit: Literal["patients", "records"] = (
            "records" if re.search(r"件数|何件|延べ", q) else "patients"
        )
        return QueryPlan(
            intent="answer",
            subject="Patient",
            criteria=criteria,
            aggregate="count",
            count_unit=unit,
            answer_type="count",
        )
    if _STATISTIC.search(q):
        # 「平均年齢は？」「一番若い人は？」「割合は？」: a figure the cohort plan cannot compute;
        # answering with the list of patients would answer another question.
        raise Incomplete("cohort statistic not supported")
    if _LIST.search(q) or pred == "list" or re.search(r"[?？]$|いる[?？]?$", q):
        return QueryPlan(
            intent="answer",
            subject="Patient",
            criteria=criteria,
            aggregate="list",
            answer_type="patients",
        )
    raise Incomplete("question form")


_OR_BETWEEN = re.compile(
    r"(ノ患者|ノ人|患者)?(カ|マタハ|又ハ|モシクハ|若シクハ|アルイハ|或イハ|or)、?"
)


def _disjunction(ctx: Ctx, mentions: list[Mention]) -> bool:
    """Two concept mentions joined by か / または / もしくは / あるいは (an OR the plan cannot
    express: criteria all hold together)."""
    ms = sorted(mentions, key=lambda m: m.start)
    return any(
        _OR_BETWEEN.fullmatch(ctx.qn[a.end : b.start]) is not None
        for a, b in zip(ms, ms[1:], strict=False)
    )


def _raw_after(ctx: Ctx, m: Mention) -> str:
    """Text of the NFKC question after a mention (mention offsets are in the normalised text)."""
    # norm() only removes spaces/・ and folds characters 1:1 otherwise; map by counting.
    q = ctx.q
    target = m.end
    count = 0
    for i, ch in enumerate(q):
        if count >= target:
            return q[i:]
        if norm(ch):
            count += len(norm(ch))
    return ""
