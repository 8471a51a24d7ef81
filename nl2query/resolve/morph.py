"""Dictionary-based morphological analysis (SudachiPy + sudachidict-core), loaded lazily.

The tokenizer takes ~0.2 s to load, so it is built on first use and cached in-process; the rules
parser only calls it when regexes alone are not enough:

- delimiting compound noun phrases (a term the tables do not know, or a known term embedded in a
  longer compound such as 糖尿病性網膜症, which must not be read as 糖尿病);
- the predicate of the question (何人 / 一覧 / 教えて / いますか / ありますか), negation, and
  polite/plain verb forms (飲んでいますか = 飲んでいる).

Offsets are character offsets in the string given (the parser passes its NFKC question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Tok:
    surface: str
    pos: str  # 品詞 (名詞, 動詞, 助詞 …)
    pos2: str  # 品詞細分類1 (普通名詞, 固有名詞, 数詞, 名詞的 …)
    pos3: str  # 品詞細分類2 (副詞可能, サ変可能 …)
    lemma: str  # dictionary form
    begin: int
    end: int


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core").tokenizer()


@lru_cache(maxsize=256)
def tokenize(text: str) -> tuple[Tok, ...]:
    from sudachipy import SplitMode

    out = []
    for m in _tokenizer().tokenize(text, SplitMode.C):
        pos = m.part_of_speech()
        out.append(
            Tok(m.surface(), pos[0], pos[1], pos[2], m.dictionary_form(), m.begin(), m.end())
        )
    return tuple(out)


# Nouns that act as predicates or question words, never part of a clinical term.
_BOUNDARY_NOUNS = frozenset(
    [
        "服用",
        "内服",
        "処方",
        "投与",
        "診断",
        "測定",
        "検査",
        "使用",
        "治療",
        "通院",
        "入院",
        "罹患",
        "合併",
        "発症",
        "既往",
        "服薬",
        "継続",
        "開始",
        "登録",
        "受診",
        "採血",
        "確認",
        "一覧",
        "リスト",
        "何人",
        "何名",
        "人数",
        "患者数",
        "数",
        "患者",
        "人",
        "方",
        "者",
        "全員",
        "現在",
        "最新",
        "直近",
        "最後",
        "前回",
        "今回",
        "最近",
        "値",
        "数値",
        "結果",
        "平均",
        "最高",
        "最低",
        "最大",
        "最小",
        "推移",
        "履歴",
        "年齢",
        "性別",
        "男性",
        "女性",
        "当院",
        "全",
        "各",
        "以上",
        "以下",
        "未満",
        "超",
        "番号",
        "ID",
        "中",
        "歳",
        "件数",
        "回数",
        "何回",
        "何件",
        "病棟",
        "種類",
        "何種類",
        "期間",
        "今年",
        "昨年",
        "今年度",
        "昨年度",
        "先月",
        "今月",
        "先週",
        "今週",
        "今日",
        "本日",
        "昨日",
        "過去",
        "間",
        "ため",
        "うち",
        "中",
        "なか",
        "一番",
        "いちばん",
        "最も",
        "可能",
        "有無",
        "状況",
        "状態",
        "情報",
        "データ",
        "記録",
        "測定日",
        "日",
        "月",
        "年",
        "年度",
        "教え",
        "最高値",
        "最低値",
        "最大値",
        "最小値",
        "最新値",
        "平均値",
        "最終値",
        "測定値",
        "検査値",
        "両方",
        "両者",
        "いずれ",
        "どちら",
        "回分",
        "症例",
        "群",
        "回",
        "分",
        "ほう",
        "方々",
        "皆",
        "みんな",
        "全部",
        "すべて",
        "合計",
        "総数",
        "割合",
        "比率",
        "順",
        "新しい順",
        "古い順",
    ]
)
_TERM_POS = {"名詞", "接頭辞", "接尾辞"}
_SYMBOL_IN_TERM = re.compile(r"^[-・/()()+]$")


def _is_term_token(t: Tok) -> bool:
    if t.surface in _BOUNDARY_NOUNS or t.lemma in _BOUNDARY_NOUNS:
        return False
    if t.pos == "名詞" and t.pos3 == "副詞可能":
        return False  # 今, 現在, 先月, 以前 …: time/adverbial nouns are never part of a term
    if t.pos == "名詞" and t.pos2 == "数詞":
        return True  # 2型, 1型: kept, the caller trims leading/trailing bare numbers
    if t.pos in _TERM_POS:
        return True
    if t.pos == "補助記号" and _SYMBOL_IN_TERM.match(t.surface):
        return True
    return bool(t.pos == "形状詞" and t.surface in {"急性", "慢性"})


def compound_at(text: str, begin: int, end: int) -> tuple[int, int]:
    """The compound noun phrase covering [begin, end) (widened over adjacent term tokens)."""
    toks = tokenize(text)
    idx = [k for k, t in enumerate(toks) if t.end > begin and t.begin < end]
    if not idx:
        return begin, end
    lo, hi = idx[0], idx[-1]
    if any(not _is_term_token(toks[k]) for k in range(lo, hi + 1)):
        return min(begin, toks[lo].begin), max(end, toks[hi].end)
    while lo > 0 and _is_term_token(toks[lo - 1]):
        lo -= 1
    while hi + 1 < len(toks) and _is_term_token(toks[hi + 1]):
        hi += 1
    a, b = min(begin, toks[lo].begin), max(end, toks[hi].end)
    # a bare number before or after the phrase is a value/count, not part of the name
    while a < begin and toks[lo].pos2 == "数詞" and toks[lo].end <= begin:
        # keep 2型 / 1型 (number followed by a term token inside the phrase)
        if lo + 1 <= hi and toks[lo + 1].surface in {"型", "度", "期", "次"}:
            break
        lo += 1
        a = max(toks[lo].begin, a) if lo <= hi else begin
    while (
        b > end
        and toks[hi].pos2 == "数詞"
        and toks[hi].begin >= end
        and not (hi > lo and re.fullmatch(r"[A-Za-z]", toks[hi - 1].surface))
    ):
        hi -= 1
        b = toks[hi].end if hi >= lo else end
    return a, b


def noun_phrase_before(text: str, pos: int) -> tuple[int, int] | None:
    """The compound noun phrase ending right before character `pos`.

    None when there is none, or when it is a quantity (a number right before it: 1日何mg, 5錠).
    """
    toks = tokenize(text)
    k = next((i for i, t in enumerate(toks) if t.end == pos), None)
    if k is None or not _is_term_token(toks[k]) or toks[k].pos2 == "数詞":
        return None
    lo = k
    while lo > 0 and _is_term_token(toks[lo - 1]):
        if toks[lo - 1].pos2 == "数詞":
            if toks[lo].surface in {"型", "度", "期", "次"} and lo - 1 >= 0:
                lo -= 1
                break
            return None  # a quantity, not a term
        lo -= 1
    if toks[lo].pos == "補助記号":
        lo += 1
    if lo > k:
        return None
    return toks[lo].begin, toks[k].end


def noun_phrase_after(text: str, pos: int) -> tuple[int, int] | None:
    """The compound noun phrase starting at character `pos`."""
    toks = tokenize(text)
    k = next((i for i, t in enumerate(toks) if t.begin == pos), None)
    if k is None or not _is_term_token(toks[k]):
        return None
    hi = k
    while hi + 1 < len(toks) and _is_term_token(toks[hi + 1]):
        hi += 1
    while hi >= k and (toks[hi].pos2 == "数詞" or toks[hi].pos == "補助記号"):
        hi -= 1
    if hi < k:
        return None
    return toks[k].begin, toks[hi].end


_COUNT_WORDS = {"何人", "何名", "人数", "患者数", "件数", "何件"}
_LIST_LEMMAS = {
    "一覧",
    "リスト",
    "教える",
    "出す",
    "挙げる",
    "見せる",
    "抽出",
    "誰",
    "リストアップ",
}


def predicate(text: str) -> str | None:
    """count | list | exists | None, from the question's predicate words."""
    toks = tokenize(text)
    lemmas = [t.lemma for t in toks]
    surfaces_l = [t.surface for t in toks]
    surfaces = set(surfaces_l)
    pairs = {a + b for a, b in zip(surfaces_l, surfaces_l[1:], strict=False)}
    if any(s in _COUNT_WORDS for s in surfaces | pairs) or (
        "数" in surfaces and any(x in lemmas for x in ("教える", "何", "いくつ"))
    ):
        return "count"
    if any(x in _LIST_LEMMAS for x in lemmas):
        return "list"
    # …はいますか / …はありますか / …いる? (polite or plain)
    tail = [t for t in toks if t.pos not in {"補助記号", "空白"}][-4:]
    tl = [t.lemma for t in tail]
    if tl and ("いる" in tl or "ある" in tl) and (tl[-1] in {"か", "ます", "いる", "ある"}):
        return "exists"
    return None


def negated_after(text: str, pos: int, window: int = 10) -> bool:
    """Is the first verb phrase after `pos` negated (ない / ず / ぬ: 〜ていない, 〜ていません)?

    The scope ends `window` characters after the first verb, or at 、/。 or a clause-joining
    particle (が, ば, のに).
    """
    verb_at: int | None = None
    for t in tokenize(text):
        if t.begin < pos:
            continue
        if verb_at is not None and t.begin > verb_at + window:
            break
        if t.surface in {"、", "。", ","}:
            break
        if t.pos == "助詞" and t.pos2 == "接続助詞" and t.surface in {"が", "ば", "のに"}:
            break
        if verb_at is None and (
            t.pos == "動詞" or (t.pos == "名詞" and t.lemma in {"服用", "処方", "内服", "投与"})
        ):
            verb_at = t.begin
        if (
            verb_at is not None
            and t.lemma in {"ない", "ず", "ぬ"}
            and t.pos in {"助動詞", "形容詞"}
        ):
            return True
    return False
