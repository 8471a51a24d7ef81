from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from mappings.jlac.codebook import CodebookError, import_codebook
from mappings.jlac.mapper import MapInput, Mapper
from mappings.jlac.tables import load_tables


def _book(path: Path, *, analyte_name: str = "テスト新規分析物", drop_sheet: str = "") -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {
        # JSLM layout: header rows, data from row 6
        "分析物コード": (
            "C",
            [("9X991", analyte_name, "", "Novel analyte"), ("3B035", "AST", "GOT", "AST")],
        ),
        "識別コード ": ("B", [("0000", "識別なし", "", "none")]),
        "材料コード": ("F", [("023", "血清", "serum")]),
        "測定法コード": (
            "C",
            [("272", "紫外吸光光度法", "UV", "UV"), ("998", "方法問わず", "", "any")],
        ),
        "結果識別コード表（共通コード）": ("B", [("01", "定量値")]),
    }
    for name, (first_col, rows) in sheets.items():
        if name == drop_sheet:
            continue
        ws = wb.create_sheet(name)
        for _ in range(5):
            ws.append(["header"])
        start = ord(first_col) - ord("A")
        for r in rows:
            ws.append([None] * start + list(r))
    wb.save(path)
    return path


def test_import_extends_mapping(tmp_path: Path) -> None:
    book = _book(tmp_path / "140jlac10_1.xlsx")
    counts = import_codebook(book, tmp_path / "tables")
    assert counts["analytes"] == 2 and counts["methods"] == 2
    before = Mapper(load_tables()).map_row(MapInput("n", "テスト新規分析物", "血清"))
    assert before.status == "unmapped"
    after = Mapper(load_tables(str(tmp_path / "tables"))).map_row(
        MapInput("n", "テスト新規分析物", "血清")
    )
    assert after.jlac10.startswith("9X991") and after.status == "review"
    t = load_tables(str(tmp_path / "tables"))
    assert "GOT" in t.codes["3B035000002327201"].names


def test_missing_sheet_and_nameless_code(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="sheet '測定法コード' not found"):
        import_codebook(_book(tmp_path / "a.xlsx", drop_sheet="測定法コード"), tmp_path / "t")
    with pytest.raises(CodebookError, match="row 6, column D: code 9X991 has no name"):
        import_codebook(_book(tmp_path / "b.xlsx", analyte_name=""), tmp_path / "t")
    assert not (tmp_path / "t" / "codebook_analytes.tsv").exists()
    (tmp_path / "c.xlsx").write_bytes(b"not an xlsx")
    with pytest.raises(CodebookError, match="not a readable xlsx"):
        import_codebook(tmp_path / "c.xlsx", tmp_path / "t")
