"""Text normalization for Japanese lab-test names, specimens, methods and units.

``normalize_text`` = NFKC plus what NFKC misses: Roman numerals to digits, the dash family
(katakana long vowel between katakana, ASCII hyphen elsewhere), γ look-alikes (``r-GTP``,
``Y-GTP``, ``ɤ-GTP``), katakana Greek names, hiragana to katakana, 蛋白/タンパク, whitespace,
ASCII upper case. It is idempotent (property-tested).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ROMAN_CHARS = {
    **{chr(0x2160 + i): str(i + 1) for i in range(12)},
    **{chr(0x2170 + i): str(i + 1) for i in range(12)},
}
_DASHES = set("‐‑‒–—―−－ｰー─━⁃﹣-˗᠆⸺⸻")
_SPACES = re.compile(r"\s+")
# NHO-style ASCII stand-ins for Greek letters: "a1-酸性糖蛋白", "b -リポ蛋白", "(1→3)-b -D..."
_LATIN_GREEK = re.compile(r"(?<![A-Za-z])([abg])(?=\d|\s*-\s*[^\x00-\x7f]|\s*-\s*D)")
_LATIN_GREEK_MAP = {"a": "α", "b": "β", "g": "γ"}
_SPACED_DASH = re.compile(r"\s+[‐‑‒–—―−－ｰー─━⁃﹣\-˗]\s+")
_GREEK_WORDS = (
    ("アルファ", "α"),
    ("ベータ", "β"),
    ("ガンマ", "γ"),
    ("デルタ", "δ"),
    ("カッパ", "κ"),
)
_GAMMA_LOOKALIKE = re.compile(r"(?<![A-Z0-9])[RYＹɤƔγΓ]-?(?=GT)")
_ROMAN_ASCII = re.compile(r"(?<![A-Z0-9])(VIII|VII|III|II|IV|IX|VI)(?![A-Z0-9])")
_ROMAN_SINGLE = re.compile(r"(?<=-)(I|V|X)(?![A-Z0-9])|(?<![A-Z0-9])(I|V|X)(?=型)")
_ROMAN_VALUE = {"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6"}
_ROMAN_VALUE.update({"VII": "7", "VIII": "8", "IX": "9", "X": "10"})
_ASCII_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}
_WORD_FOLDS = (
    ("タンパク", "蛋白"),
    ("たんぱく", "蛋白"),
    ("タン白", "蛋白"),
    ("ヘモグロビンエーワンシー", "HBA1C"),
    ("ビールス", "ウイルス"),
    ("アポリポ蛋白", "アポ"),
    ("アポ蛋白", "アポ"),
    ("アポリポプロテイン", "アポ"),
    ("ノン", "NON"),
    ("ウィルス", "ウイルス"),
    ("コレステロ-ル", "コレステロール"),
)


def _is_kana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa" or ch in "ーヽヾヴ"


def _fold_dashes(s: str) -> str:
    out: list[str] = []
    for ch in s:
        if ch in _DASHES:
            prev = out[-1] if out else ""
            if prev and _is_kana(prev):
                out.append("ー")
            else:
                out.append("-")
        else:
            out.append(ch)
    return "".join(out)


def _hira_to_kata(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)


@lru_cache(maxsize=200_000)
def normalize_text(value: str) -> str:
    """Canonical form of a name (idempotent)."""
    if not value:
        return ""
    s = "".join(_ROMAN_CHARS.get(c, c) for c in value)
    s = unicodedata.normalize("NFKC", s)
    s = _LATIN_GREEK.sub(lambda m: _LATIN_GREEK_MAP[m.group(1)], s)
    s = s.replace("ɤ", "γ").replace("Ɣ", "γ").replace("µ", "μ").replace("ß", "β")
    s = _hira_to_kata(s)
    s = _SPACED_DASH.sub("・", s)
    s = unicodedata.normalize("NFKC", _SPACES.sub("", s))
    s = _fold_dashes(s)
    s = s.translate(_ASCII_UPPER)
    for a, b in _GREEK_WORDS:
        s = s.replace(a, b)
    for a, b in _WORD_FOLDS:
        s = s.replace(a, b)
    s = _GAMMA_LOOKALIKE.sub("γ-", s)
    s = _ROMAN_ASCII.sub(lambda m: _ROMAN_VALUE[m.group(1)], s)
    s = _ROMAN_SINGLE.sub(lambda m: _ROMAN_VALUE[m.group(1) or m.group(2)], s)
    s = s.replace("〔", "(").replace("〕", ")").replace("【", "(").replace("】", ")")
    s = s.replace("[", "(").replace("]", ")").replace("<", "(").replace(">", ")")
    s = s.replace("《", "(").replace("》", ")").replace("「", "(").replace("」", ")")
    s = s.replace("･", "・").replace("~", "〜")
    return s


_KEY_DROP = re.compile(r"[-・.,、。/_()\[\]{}:;'\"`*＊◎○●◆■□☆★※#@!?=+|\\〜]")


@lru_cache(maxsize=200_000)
def compact_key(value: str) -> str:
    """Matching key: normalized text without punctuation and brackets (contents kept)."""
    return unicodedata.normalize("NFKC", _KEY_DROP.sub("", normalize_text(value)))


@lru_cache(maxsize=50_000)
def normalize_unit(value: str) -> str:
    """Canonical unit spelling used for comparison (lower case, μ→u, ×/x/*→x, ^ kept)."""
    if not value:
        return ""
    s = unicodedata.normalize("NFKC", value)
    s = unicodedata.normalize("NFKC", _SPACES.sub("", s)).lower()
    s = s.replace("μ", "u").replace("µ", "u").replace("×", "x").replace("*", "x")
    s = s.replace("＾", "^").replace("ℓ", "l").replace("・", "").replace("･", "")
    s = s.replace("/dl", "/dl").replace("iu/", "u/").replace("mu/", "mu/")
    if s in ("iu/l", "u/l", "iu/ml"):
        s = s.replace("iu", "u")
    s = re.sub(r"10\^?(\d)", r"10^\1", s)
    s = s.replace("万/ul", "x10^4/ul").replace("千/ul", "x10^3/ul")
    s = re.sub(r"^(?:x)?10\^", "x10^", s)
    s = s.replace("mm^3", "ul").replace("nm^3", "fl")
    return s
