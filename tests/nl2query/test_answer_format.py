"""How numbers are written in answers."""

from __future__ import annotations

from nl2query.answer import _fmt


def test_decimals_asked_for_are_kept_even_when_zero() -> None:
    assert _fmt(1.0, 1) == "1.0"  # 「小数点以下1桁で」 must not print 1
    assert _fmt(0.958333, 2) == "0.96"
    assert _fmt(1.0) == "1" and _fmt(7.8) == "7.8" and _fmt(120) == "120"
    assert _fmt(True, 1) == "True"
