"""Import the official JSLM JLAC10 code book (xlsx) and JLAC11 lists into extra code tables.

Sheets read (layout of the JSLM ``NNNjlac10_1.xlsx``; data rows are recognised by the code cell):
``分析物コード`` (C code, D name, E name 2, F English), ``識別コード`` (B code, C name, D name 2,
E English), ``材料コード`` (F code, G name, H English), ``測定法コード`` (C code, D name, E name 2,
F English), ``結果識別コード表（共通コード）`` (B code, C name), ``結果識別（固有コード）``
(B analyte, C identification, D code, E name, F English). A JLAC11 list (sheet
``検査試薬とJLAC10_ 11``: A product name, U/V method code/name, BC test name, BD JLAC11 code) is
read when present. Output: ``codebook_*.tsv`` in a directory that ``load_tables(extra_dir)``
reads; written to a temporary directory and moved into place, so a failed import changes nothing.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mappings.jlac.normalize import normalize_text


class CodebookError(ValueError):
    """The code book cannot be imported; the message names sheet, row and column."""


_SHEETS: dict[str, tuple[str, dict[str, str], str]] = {
    # key: (sheet name prefix, column letters, code pattern)
    "analytes": (
        "分析物コード",
        {"code": "C", "name": "D", "name2": "E", "en": "F"},
        r"[0-9][0-9A-Z]{4}",
    ),
    "identifications": (
        "識別コード",
        {"code": "B", "name": "C", "name2": "D", "en": "E"},
        r"[0-9A-Z]{4}",
    ),
    "materials": ("材料コード", {"code": "F", "name": "G", "en": "H"}, r"[0-9]{3}"),
    "methods": ("測定法コード", {"code": "C", "name": "D", "name2": "E", "en": "F"}, r"[0-9]{3}"),
    "results": ("結果識別コード表", {"code": "B", "name": "C"}, r"[0-9A-Z]{2}"),
    "results_specific": (
        "結果識別（固有",
        {"analyte": "B", "ident": "C", "code": "D", "name": "E", "en": "F"},
        r"[0-9A-Z]{2}",
    ),
}
_REQUIRED = ("analytes", "methods", "materials")
_JLAC11_SHEET = "検査試薬とJLAC10"


def _col_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _cell(row: tuple[Any, ...], letter: str) -> str:
    i = _col_index(letter)
    if i >= len(row) or row[i] is None:
        return ""
    v = row[i]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _find_sheet(names: Iterable[str], prefix: str) -> str | None:
    for n in names:
        if normalize_text(n).startswith(normalize_text(prefix)):
            return n
    return None


def _pad(code: str, width: int) -> str:
    return code.zfill(width) if code.isdigit() else code


def read_codebook(path: str | os.PathLike[str]) -> dict[str, list[dict[str, str]]]:
    from openpyxl import load_workbook

    p = Path(path)
    if not p.is_file():
        raise CodebookError(f"{p}: no such file")
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise CodebookError(
            f"{p.name}: not a readable xlsx workbook ({type(exc).__name__})"
        ) from None
    out: dict[str, list[dict[str, str]]] = {}
    try:
        for key, (prefix, cols, pattern) in _SHEETS.items():
            sheet = _find_sheet(wb.sheetnames, prefix)
            if sheet is None:
                if key in _REQUIRED:
                    raise CodebookError(
                        f"{p.name}: sheet {prefix!r} not found (sheets: {', '.join(wb.sheetnames)})"
                    )
                continue
            width = len(pattern.split("{")[-1].split("}")[0]) if "{" in pattern else 0
            rx = re.compile(pattern)
            rows: list[dict[str, str]] = []
            for rowno, row in enumerate(wb[sheet].iter_rows(values_only=True), start=1):
                code = _cell(row, cols["code"])
                if key in ("materials", "methods", "results"):
                    code = _pad(code, {"materials": 3, "methods": 3, "results": 2}[key])
                if not code or not rx.fullmatch(code.upper()):
                    continue
                rec = {k: _cell(row, c) for k, c in cols.items()}
                rec["code"] = code.upper()
                if not rec.get("name"):
                    raise CodebookError(
                        f"{p.name}: sheet {sheet!r} row {rowno}, column {cols['name']}: "
                        f"code {code} has no name"
                    )
                rows.append(rec)
            if key in _REQUIRED and not rows:
                raise CodebookError(
                    f"{p.name}: sheet {sheet!r} has no code rows (column {cols['code']})"
                )
            del width
            out[key] = rows
        sheet = _find_sheet(wb.sheetnames, _JLAC11_SHEET)
        if sheet is not None:
            rows = []
            for row in wb[sheet].iter_rows(min_row=18, values_only=True):
                code11 = _cell(row, "BD").upper()
                if re.fullmatch(r"[A-Z][0-9A-Z]{16}", code11):
                    rows.append(
                        {
                            "jlac11": code11,
                            "product": _cell(row, "A"),
                            "method": _cell(row, "U"),
                            "method_name": _cell(row, "V"),
                            "name": _cell(row, "BC"),
                        }
                    )
            out["jlac11"] = rows
    finally:
        wb.close()
    return out


_FIELDS = {
    "analytes": ("code", "name", "name2", "en"),
    "identifications": ("code", "name", "name2", "en"),
    "materials": ("code", "name", "en"),
    "methods": ("code", "name", "name2", "en"),
    "results": ("code", "name"),
    "results_specific": ("analyte", "ident", "code", "name", "en"),
    "jlac11": ("jlac11", "product", "method", "method_name", "name"),
}


def import_codebook(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str]
) -> dict[str, int]:
    """Read the code book and (atomically) replace the ``codebook_*.tsv`` files in ``out_dir``."""
    data = read_codebook(path)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".codebook-", dir=target))
    try:
        for key, rows in data.items():
            with (tmp / f"codebook_{key}.tsv").open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(
                    fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\"
                )
                fields = _FIELDS[key]
                w.writerow(fields)
                for r in rows:
                    w.writerow([r.get(f, "").replace("\t", " ").replace("\n", " ") for f in fields])
        for f in tmp.iterdir():
            os.replace(f, target / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: len(v) for k, v in data.items()}
