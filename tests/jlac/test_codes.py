from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.jlac.codes import Jlac10Code, Jlac11Code, JlacCodeError, is_jlac10, is_jlac11

DIG = "0123456789"
ALNUM = DIG + "ABCDEFGHIJKLMNOPQRSTUVWXY"


def test_jlac10_segments_and_names() -> None:
    c = Jlac10Code.parse("3B035000002327201")
    assert c.segments() == {
        "analyte": "3B035",
        "identification": "0000",
        "material": "023",
        "method": "272",
        "result": "01",
    }
    assert not c.is_local and not c.is_order_code
    assert c.order_code == "3B0350000023272"


def test_jlac10_order_code_and_width() -> None:
    c = Jlac10Code.parse("３Ｂ０３５００００" + "０２３" + "２７２")
    assert c.is_order_code and str(c) == "3B0350000023272"
    assert str(c.with_result("01")) == "3B035000002327201"


def test_local_z_extension_flagged_not_rejected() -> None:
    c = Jlac10Code.parse("1B040Z121015Z0111")
    assert c.is_local
    assert Jlac10Code.parse("Z9A43Z010Z9725001").is_local


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3B03500000232720", "17 characters"),
        ("3B0350000023272011", "17 characters"),
        ("3B03500000232720!", "invalid character"),
        ("3B035000A02327201", "identification segment"),
    ],
)
def test_jlac10_errors(value: str, message: str) -> None:
    with pytest.raises(JlacCodeError, match=message):
        Jlac10Code.parse(value)


def test_jlac11() -> None:
    c = Jlac11Code.parse("C20080000250001F7")
    assert c.segments()["unit"] == "F7" and c.measured_object == "C2008"
    assert Jlac11Code.parse("B2006000024000100").is_order_code
    with pytest.raises(JlacCodeError, match="start with a letter"):
        Jlac11Code.parse("120080000250001F7")
    with pytest.raises(JlacCodeError, match="17 characters"):
        Jlac11Code.parse("C2008000025000")
    assert is_jlac11("C4001133725000185") and not is_jlac11("3B035000002327201")
    assert is_jlac10("3B035000002327201") and not is_jlac10("C20080000250001F7")


@given(
    st.text(DIG, min_size=1, max_size=1),
    st.text(ALNUM, min_size=4, max_size=4),
    st.text(DIG, min_size=12, max_size=12),
)
def test_jlac10_round_trip(first: str, rest: str, digits: str) -> None:
    code = first + rest + digits
    parsed = Jlac10Code.parse(code)
    assert str(parsed) == code
    assert Jlac10Code.parse(str(parsed)) == parsed
    assert "".join(parsed.segments().values()) == code


@given(
    st.text("ABCDEFGHKLMPV", min_size=1, max_size=1),
    st.text(DIG, min_size=4, max_size=4),
    st.text(DIG, min_size=7, max_size=7),
    st.text(ALNUM, min_size=5, max_size=5),
)
def test_jlac11_round_trip(letter: str, obj: str, mid: str, tail: str) -> None:
    code = letter + obj + mid + tail
    parsed = Jlac11Code.parse(code)
    assert str(parsed) == code and Jlac11Code.parse(str(parsed)) == parsed
