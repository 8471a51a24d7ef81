from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.jlac.normalize import compact_key, normalize_text, normalize_unit
from mappings.jlac.qualifiers import parse_name

ALPHABET = (
    "abcxyzABCRYGT019 -_/()[]（）［］・･.%＊◎"
    "アイウエオカキクケコガンマーｰ－−‐―ｱｲｳｴｵｶﾞﾝﾏ"
    "あいうえおたんぱく蛋白尿血清漿糖酸素窒総空腹時随負荷後分値"
    "ＡＢＣＲＹａｂｃ０１２３γɤαβⅠⅡⅢⅣ①②"
)


@settings(max_examples=300)
@given(st.text(ALPHABET, max_size=24))
def test_normalize_idempotent(s: str) -> None:
    once = normalize_text(s)
    assert normalize_text(once) == once
    assert compact_key(compact_key(s)) == compact_key(s)


@settings(max_examples=200)
@given(st.text(ALPHABET, max_size=16))
def test_unit_normalize_idempotent(s: str) -> None:
    once = normalize_unit(s)
    assert normalize_unit(once) == once


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("r-GTP", "γ-GTP"),
        ("Y-GTP", "γ-GTP"),
        ("ɤ-GTP", "γ-GTP"),
        ("γーGTP", "γ-GTP"),
        ("ｸﾚｱﾁﾆﾝ", "クレアチニン"),
        ("Ｔ－Ｂｉｌ", "T-BIL"),
        ("アミラ－ゼ", "アミラーゼ"),
        ("PIVKA-Ⅱ", "PIVKA-2"),
        ("アポ蛋白A－II", "アポA-2"),
        ("総たんぱく", "総蛋白"),
    ],
)
def test_variants_fold(a: str, b: str) -> None:
    assert normalize_text(a) == normalize_text(b)


def test_units() -> None:
    assert normalize_unit("mg/dl") == normalize_unit("ｍｇ／ｄＬ")
    assert normalize_unit("μg/mL") == normalize_unit("ug/ml")
    assert normalize_unit("×10^4/μL") == normalize_unit("x10＾4/ul")


def test_qualifiers() -> None:
    p = parse_name("健)空腹時血糖(外注)")
    assert p.timing == 1300 and p.core == "血糖"
    assert parse_name("黄体形成ホルモン 負荷後30分").timing == 1030
    assert parse_name("GLU(負荷2時間後)").timing == 1120
    assert parse_name("随時ＴＧ").timing == 1299
    p = parse_name("尿蛋白定性")
    assert "qual" in p.kinds and p.specimen == "尿"
    assert parse_name("尿酸").specimen is None
    assert parse_name("尿素窒素").specimen is None
    assert parse_name("ALP(IFCC)").methods == {"IFCC"}
    assert "inr" in parse_name("PT-INR").kinds
    assert "crcorr" in parse_name("U-Alb/Cr(Cr補正)").kinds
    assert parse_name("肝機能セット").admin
