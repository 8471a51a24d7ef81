from __future__ import annotations

import pytest

from mappings.jlac.mapper import MapInput, Mapper
from mappings.jlac.tables import load_tables


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(load_tables())


@pytest.mark.parametrize(
    ("name", "specimen", "unit", "method", "expected"),
    [
        ("GOT", "血清", "IU/L", "紫外吸光光度法(JSCC標準化対応法)", "3B035000002327201"),
        ("ＧＰＴ（ＡＬＴ）", "S", "U/l", "UV", "3B045000002327201"),
        ("r-GTP", "血清", "U/L", "JSCC", "3B090000002327101"),
        ("ALP(IFCC)", "血清", "U/L", "可視吸光光度法", "3B070000002327501"),
        ("PT-INR", "クエン酸血漿", "INR", "凝固時間測定", "2B030000002231157"),
        ("空腹時血糖", "血漿", "mg/dL", "可視吸光光度法", "3D010130002227101"),
        ("尿酸", "", "mg/dl", "", "3C020000002327101"),
        ("ｸﾚｱﾁﾆﾝ", "", "mg/dL", "酵素法", "3C015000002327101"),
        ("LDL-C(計算)", "血清", "mg/dL", "", "3F077000002391901"),
    ],
)
def test_maps(
    mapper: Mapper, name: str, specimen: str, unit: str, method: str, expected: str
) -> None:
    r = mapper.map_row(MapInput("L1", name, specimen, unit, method))
    assert r.jlac10 == expected, (r.jlac10, [c.jlac10 for c in r.candidates])
    assert r.status in ("auto", "review")
    assert expected in [c.jlac10 for c in r.candidates]


def test_material_splits_protein(mapper: Mapper) -> None:
    serum = mapper.map_row(MapInput("a", "総蛋白", "血清", "g/dL", "ビウレット法"))
    csf = mapper.map_row(MapInput("b", "蛋白", "髄液", "mg/dL", "可視吸光光度法"))
    assert serum.jlac10.startswith("3A010")
    assert csf.jlac10.startswith("1C010")


def test_product_gives_jlac11(mapper: Mapper) -> None:
    r = mapper.map_row(MapInput("c", "AST", "血清", "U/L", "ネスコートVL AST"))
    assert r.jlac10 == "3B035000002327201"
    assert r.jlac11 == "C20080000250001F7"


@pytest.mark.parametrize(
    "name", ["肝機能セット", "血液学コメント", "至急フラグ", "院内独自項目ｘｙｚ"]
)
def test_abstains(mapper: Mapper, name: str) -> None:
    r = mapper.map_row(MapInput("z", name))
    assert r.status == "unmapped" and r.jlac10 == ""


def test_only_table_codes(mapper: Mapper) -> None:
    t = load_tables()
    for name in ("Na", "K", "CRP", "HbA1c", "白血球数", "Dダイマー"):
        r = mapper.map_row(MapInput("q", name))
        assert r.jlac10 in t.codes
        assert all(c.jlac10 in t.codes for c in r.candidates)
        assert 0.0 <= r.confidence <= 1.0
