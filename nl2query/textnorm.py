"""Text normalisation for matching Japanese clinical terms (width, kana, case, dashes)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−－﹣"})
_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)}
_SPACES = str.maketrans({c: None for c in " \u3000\t\n・･"})


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """NFKC (full/half width), hiragana→katakana, lower case, dash variants, no spaces.

    Memoised (bounded): drug, lab and disease names recur on every resource of a bulk load."""
    t = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_SPACES).lower()
    return t.translate(_HIRA_TO_KATA)


def nfkc(text: str) -> str:
    """NFKC only (keeps hiragana and case): the form the parser works on."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def norm_keep_kana(text: str) -> str:
    """Like :func:`norm` but without folding hiragana to katakana (same length as norm())."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_SPACES).lower()
