from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from ehr_bridge.cli.main import _load_features, app
from mappings.jlac.masterfile import MasterFileError, read_master

HEADER = ["local_code", "local_name", "specimen", "unit", "method"]
ROWS = [["L1", "ＡＳＴ", "血清", "U/L", "UV"], ["L2", "クレアチニン", "", "mg/dL", ""]]


def _write(path: Path, rows: list[list[str]], encoding: str = "utf-8", delim: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delim).writerows(rows)
    return path


def test_cp932_csv(tmp_path: Path) -> None:
    rows = read_master(_write(tmp_path / "m.csv", [HEADER, *ROWS], "cp932"))
    assert [r.local_name for r in rows] == ["ＡＳＴ", "クレアチニン"]


def test_utf8_tsv_and_xlsx(tmp_path: Path) -> None:
    assert len(read_master(_write(tmp_path / "m.tsv", [HEADER, *ROWS], delim="\t"))) == 2
    wb = Workbook()
    ws = wb.active
    for r in [HEADER, *ROWS]:
        ws.append(r)
    wb.save(tmp_path / "m.xlsx")
    assert read_master(tmp_path / "m.xlsx")[0].specimen == "血清"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["local_code", "specimen"], ["L1", "S"]], "row 1 .*missing column.*local_name"),
        ([HEADER, ["L1", "", "S", "", ""]], "row 2, column local_name: empty name"),
        ([HEADER, ROWS[0], ["L1", "ALT", "", "", ""]], "row 3, column local_code: duplicate"),
        ([HEADER, ["", "ALT", "", "", ""]], "row 2, column local_code: empty code"),
    ],
)
def test_bad_rows(tmp_path: Path, rows: list[list[str]], message: str) -> None:
    with pytest.raises(MasterFileError, match=message):
        read_master(_write(tmp_path / "bad.csv", rows))


def test_broken_xlsx_and_encoding(tmp_path: Path) -> None:
    (tmp_path / "b.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MasterFileError, match="not a readable xlsx"):
        read_master(tmp_path / "b.xlsx")
    (tmp_path / "e.csv").write_bytes(b"local_code,local_name\nL1,\x81\x7f\x80\n")
    with pytest.raises(MasterFileError, match="row 2: text is neither UTF-8 nor CP932"):
        read_master(tmp_path / "e.csv")


def test_cli_map_and_no_partial_output(tmp_path: Path) -> None:
    _load_features()
    runner = CliRunner()
    src = _write(tmp_path / "m.csv", [HEADER, *ROWS, ["L3", "肝機能セット", "", "", ""]], "cp932")
    out = tmp_path / "out.tsv"
    res = runner.invoke(app, ["jlac", "map", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = list(csv.DictReader(out.open(encoding="utf-8"), delimiter="\t"))
    assert [r["local_code"] for r in lines] == ["L1", "L2", "L3"]
    assert lines[0]["jlac10"].startswith("3B035") and lines[2]["status"] == "unmapped"
    bad = _write(tmp_path / "bad.csv", [HEADER, ROWS[0], ROWS[0]])
    out2 = tmp_path / "out2.tsv"
    res = runner.invoke(app, ["jlac", "map", str(bad), "--out", str(out2)])
    assert res.exit_code == 2 and "duplicate local code" in res.output
    assert not out2.exists()
