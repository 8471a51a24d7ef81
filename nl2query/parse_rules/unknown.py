"""Terms the tables do not know: delimit them with the morphological analyser.

Two cases, both resolved to display-text fallback mentions (key ``""``):

1. a known term embedded in a longer compound noun (糖尿病性網膜症 contains 糖尿病, ロキソニンテープ
   contains ロキソニン): reading it as the known term would answer about another concept, so the
   whole compound becomes the mention;
2. a noun phrase in a slot where the question needs a concept (…を服用中, …と診断, …アレルギー,
   最新の…, …の値) that no table entry covers.

The SudachiPy tokenizer is only loaded when the question has Japanese text outside the known
mentions in one of these positions (see :mod:`nl2query.resolve.morph`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from nl2query.resolve.fallback import GENERIC
from nl2query.resolve.terms import Mention, find_allergen
from nl2query.textnorm import norm

# affixes that may sit next to a known term inside one compound without changing the concept
_OK_AFFIX = frozenset(
    [
        "アレルギー",
        "値",
        "系",
        "剤",
        "薬",
        "製剤",
        "錠",
        "血清",
        "血中",
        "歴",
        "定量",
        "濃度",
        "レベル",
        "検査",
        "測定値",
        "量",
        "患者",
        "の",
        "症",
        "性",
        "内服",
        "服用",
        "処方",
        "投与",
        "治療",
        "中",
        "現在",
        "最新",
        "直近",
        "前回",
        "今回",
        "錠剤",
        "カプセル",
        "散",
        "注",
        "テスト",
        "数",
        "型",
        "(NGSP)",
        "NGSP",
        "系統",
        "全",
        "総",
        "値の",
    ]
)

# (slot regex on the NFKC question, concept kind); group "t" is the trigger position
_SLOTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"(?:を|が|は)?(?:現在|今も|今)?(?P<t>服用|内服|処方|投与|飲ん|飲み|飲ま|使用|使っ|出て|出され)"
        ),
        "medication",
    ),
    (
        re.compile(
            r"(?:と|の)(?P<t>診断|既往)|(?:が|の)(?P<t2>ある|あり)(?:患者|人|方)|(?P<t3>患者(?:は|を|の|数|さん)|の患者)"
        ),
        "condition",
    ),
    (re.compile(r"(?:に対する|への|に対して|の)?(?P<t>アレルギー)"), "allergen"),
    (
        re.compile(
            r"(?:の)?(?P<t>最新値|最終値|検査値|測定値|値|最高値|最低値|最大値|最小値|平均|推移)"
        ),
        "lab",
    ),
]
_LAB_BEFORE = re.compile(r"(?:最新|直近|一番新しい|いちばん新しい|最後|前回)の")
_TERM_CHAR = re.compile(r"[一-龥々ァ-ヶーA-Za-z0-9]")
_KANJI_KATA = re.compile(r"[一-龥々ァ-ヶーA-Za-z]")


def _qn_offset(q: str, i: int) -> int:
    return len(norm(q[:i]))


def _q_offset(q: str, off: int) -> int:
    for i in range(len(q) + 1):
        if len(norm(q[:i])) >= off:
            return i
    return len(q)


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for b in spans)


_STATE = re.compile(r"(入院|通院|服用|内服|処方|投与|治療|加療|療養|使用|継続|検査|測定)中?$")


def _term_ok(text: str) -> bool:
    t = norm(text)
    if len(t) < 2 or t in {norm(g) for g in GENERIC} or _STATE.match(text):
        return False
    if re.fullmatch(r"(?i)(mg|g|ml|μg|mcg|kg|単位|錠|%|mmhg|u|iu|回|日|本|包|枚|cm)", text):
        return False
    if "何" in text or re.search(r"\d", re.sub(r"^\d+型", "", text)):
        return False  # doses, counts, dates: not a term
    return bool(_KANJI_KATA.search(text))


def refine(q: str, mentions: list[Mention], blocked: list[tuple[int, int]]) -> list[Mention]:
    """Mentions with embedded-compound and unknown-slot fallbacks applied.

    `q` is the NFKC question, `mentions` come from :func:`find_mentions` (offsets in norm(q)),
    `blocked` are q-spans of the patient reference, time expression, wards and departments.
    """
    from nl2query.resolve import morph

    out: list[Mention] = []
    spans: list[tuple[int, int]] = []
    for m in mentions:
        a, b = _q_offset(q, m.start), _q_offset(q, m.end)
        if any(x <= a and b <= y for x, y in blocked):
            continue  # 糖尿病 inside 糖尿病内分泌内科
        if not (a > 0 and _TERM_CHAR.match(q[a - 1])) and not (
            b < len(q) and _TERM_CHAR.match(q[b])
        ):
            out.append(m)
            spans.append((a, b))
            continue
        ca, cb = morph.compound_at(q, a, b)
        residual = [q[ca:a], q[b:cb]]
        bad = [r for r in residual if r and r.strip(" ・") and not _affix_only(r)]
        if m.kind == "medication" and bad == [q[b:cb]] and re.fullmatch(r"[A-Za-z]", q[b:cb]):
            bad = []  # brand suffix letter: アルダクトンA, チラーヂンS
        if bad and not _overlaps((ca, cb), blocked):
            text = q[ca:cb]
            out.append(Mention(_qn_offset(q, ca), _qn_offset(q, cb), m.kind, "", text))
            spans.append((ca, cb))
        else:
            out.append(m)
            spans.append((a, b))
    for pat, kind in _SLOTS:
        for sm in pat.finditer(q):
            trig = next(
                sm.start(g) for g in ("t", "t2", "t3") if g in pat.groupindex and sm.group(g)
            )
            start = sm.start()
            if start == 0 or not _TERM_CHAR.match(q[start - 1]):
                continue
            if any(e == start for _, e in spans) or _overlaps((start - 1, start), blocked):
                continue
            np_ = morph.noun_phrase_before(q, start)
            if np_ is None and kind == "lab":
                continue
            if np_ is None:
                continue
            if _overlaps(np_, spans) or _overlaps(np_, blocked):
                continue
            text = q[np_[0] : np_[1]]
            if not _term_ok(text):
                continue
            del trig
            if kind != "allergen" and text.endswith("アレルギー"):
                continue
            if kind == "allergen" and find_allergen(norm(text)):
                continue  # a table allergen (the parser looks those up itself)
            out.append(Mention(_qn_offset(q, np_[0]), _qn_offset(q, np_[1]), kind, "", text))
            spans.append(np_)
    for lm in _LAB_BEFORE.finditer(q):
        if lm.end() >= len(q) or not _TERM_CHAR.match(q[lm.end()]):
            continue
        if any(s0 == lm.end() for s0, _ in spans):
            continue
        np_ = morph.noun_phrase_after(q, lm.end())
        if np_ is None or _overlaps(np_, spans) or _overlaps(np_, blocked):
            continue
        text = q[np_[0] : np_[1]]
        if _term_ok(text):
            out.append(Mention(_qn_offset(q, np_[0]), _qn_offset(q, np_[1]), "lab", "", text))
            spans.append(np_)
    return sorted(out, key=lambda m: m.start)


def _affix_only(r: str) -> bool:
    from nl2query.resolve import morph

    toks = morph.tokenize(r)
    return all(t.surface in _OK_AFFIX or t.lemma in _OK_AFFIX for t in toks)


# question vocabulary that carries no clinical concept (checked by :func:`unexplained`)
_BENIGN = frozenset(
    [
        "列挙",
        "洗い出し",
        "ピックアップ",
        "抽出",
        "対象",
        "対象者",
        "集計",
        "カウント",
        "総計",
        "一覧表",
        "病名",
        "診断名",
        "記載",
        "お願い",
        "数字",
        "件数",
        "人数",
        "名数",
        "方々",
        "皆さん",
        "患者様",
        "患者さま",
        "方数",
        "人分",
        "値段",
        "アレルギー",
        "いくつ",
        "こと",
        "名",
        "今",
        "いま",
        "一度",
        "量",
        "何日",
        "差",
        "薬",
        "入院中",
        "小数点",
        "小数",
        "桁",
        "以前",
        "以後",
        "以降",
        "同姓",
        "同名",
        "単位",
        "該当",
        "なし",
        "生年月日",
        "何歳",
        "リストアップ",
        "日目",
        "入院日",
        "総量",
        "種類",
        "全部",
        "mg",
        "ミリ",
        "ミリグラム",
        "グラム",
        "キロ",
        "キログラム",
        "センチ",
        "錠",
        "dL",
        "mEq",
        "L",
        "kg",
        "g",
        "pg",
        "mL",
        "cm",
        "mmHg",
        "U",
        "%",
        "値",
        "記録",
        "登録",
        "情報",
        "可能",
        "一覧",
        "リスト",
        "人たち",
        "方",
        "患者さん",
        "誰",
        "だれ",
        "氏名",
        "カナ",
        "フリガナ",
        "名前",
        "住所",
        "番号",
        "ID",
        "結果",
        "検査結果",
        "外来",
        "通院",
        "通院中",
        "受診",
        "来院",
        "病院",
        "当院",
        "院内",
        "うち",
        "中",
        "なか",
        "ほか",
        "他",
        "以外",
        "全体",
        "全員",
        "合計",
        "数",
        "人数",
        "件",
        "件数",
        "回",
        "回数",
        "時点",
        "時",
        "日付",
        "日",
        "測定日",
        "検査日",
        "いつ",
        "今日",
        "今月",
        "今年",
        "前",
        "後",
        "最初",
        "初回",
        "最初",
        "直前",
        "前回",
        "今回",
        "次",
        "順",
        "新しい順",
        "古い順",
        "値段",
        "様",
        "さん",
        "氏",
        "方々",
        "者",
        "お",
        "確認",
        "処方歴",
        "既往",
        "既往歴",
        "服薬",
        "内服",
        "服用",
        "処方",
        "投与",
        "使用",
        "診断",
        "測定",
        "検査",
        "治療",
        "入院",
        "退院",
        "転棟",
        "病棟",
        "診療科",
        "科",
        "担当",
        "状況",
        "状態",
        "現在",
        "現時点",
        "時期",
        "期間",
        "年度",
        "月",
        "年",
        "週",
        "以内",
        "まで",
        "から",
        "間",
        "ところ",
        "程度",
        "くらい",
        "位",
        "本人",
        "新規",
        "新た",
        "開始",
        "導入",
        "継続",
        "中止",
        "変更",
        "増量",
        "減量",
        "最高",
        "最低",
        "最大",
        "最小",
        "平均",
        "平均値",
        "推移",
        "変化",
        "変化量",
        "上昇",
        "低下",
        "増加",
        "減少",
        "有無",
        "該当者",
        "実施",
        "結果値",
        "数値",
        "データ",
        "名簿",
        "表",
        "形式",
        "出力",
        "表示",
        "回答",
        "答え",
        "一日",
        "1日",
        "1回",
        "一回",
        "ほど",
        "頃",
        "ごろ",
        "以上",
        "以下",
        "未満",
        "超",
        "より",
        "上",
        "下",
        "両方",
        "どちら",
        "いずれ",
        "男",
        "女",
        "男性",
        "女性",
        "歳",
        "才",
        "年齢",
        "性別",
        "生まれ",
        "誕生日",
        "生",
        "カルテ",
        "上",
    ]
)


def unexplained(q: str, mentions: list[Mention], blocked: list[tuple[int, int]]) -> list[str]:
    """Common/proper nouns of `q` no mention, blocked span or benign word accounts for.

    A clinical noun left over (骨密度, 吸入手技 …) means the plan would ignore part of the
    question; the parser then abstains instead of answering a different question.
    """
    from nl2query.resolve.terms import allergen_surfaces

    spans = [(_q_offset(q, m.start), _q_offset(q, m.end)) for m in mentions] + list(blocked)
    qn = norm(q)
    for s, _key in allergen_surfaces():
        i = qn.find(s)
        if s and i >= 0:
            spans.append((_q_offset(q, i), _q_offset(q, i + len(s))))
    if not _needs_tokenizer(q, spans):
        return []
    from nl2query.resolve import morph

    left = []
    for t in morph.tokenize(q):
        if t.pos != "名詞" or t.pos2 not in ("普通名詞", "固有名詞"):
            continue
        if t.surface in morph._BOUNDARY_NOUNS or t.surface in _BENIGN or t.lemma in _BENIGN:
            continue
        if any(t.begin < b and a < t.end for a, b in spans):
            continue
        left.append(t.surface)
    return left


_CONTENT_RUN = re.compile(r"[一-龥々ァ-ヶーA-Za-z]{2,}")


@lru_cache(maxsize=1)
def _benign_words() -> list[str]:
    from nl2query.resolve import morph

    return sorted(set(_BENIGN) | set(morph._BOUNDARY_NOUNS), key=len, reverse=True)


def _needs_tokenizer(q: str, spans: list[tuple[int, int]]) -> bool:
    """Cheap pre-check: is any run of 2+ kanji/katakana/Latin left once known spans and benign
    words are removed? If not, the (0.1 s to load) tokenizer is not needed."""
    chars = list(q)
    for a, b in spans:
        for i in range(max(a, 0), min(b, len(chars))):
            chars[i] = " "
    rest = "".join(chars)
    for w in _benign_words():
        rest = rest.replace(w, " ")
    return bool(_CONTENT_RUN.search(rest))
