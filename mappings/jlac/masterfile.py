"""Read a hospital lab master (CSV / TSV / XLSX; UTF-8 or CP932 detected) and write results.

Errors name the row (1-based, header = row 1) and the column. Nothing is returned for a file
with any error, so callers never write partial output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from mappings.jlac.mapper import MapInput, MapResult

COLUMNS = ("local_code", "local_name", "specimen", "unit", "method", "category")
REQUIRED = ("local_code", "local_name")
_ALIASES = {
    "local_code": ("local_code", "code", "コード", "項目コード", "検査コード", "ローカルコード"),
    "local_name": ("local_name", "name", "名称", "項目名", "検査名", "検査項目名", "項目名称"),
    "specimen": ("specimen", "material", "検体", "材料", "検体材料"),
    "unit": ("unit", "単位"),
    "method": ("method", "reagent", "測定法", "試薬", "検査方法", "方法"),
    "category": ("category", "区分", "分類"),
}
OUTPUT_HEADER = ("local_code", "jlac10", "jlac11", "confidence", "status", "candidates")


class MasterFileError(ValueError):
    """A lab master that cannot be read; the message names the row and column."""


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp932")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MasterFileError(
            f"{path.name}: row {line}: text is neither UTF-8 nor CP932 (Shift_JIS) "
            f"(byte offset {exc.start})"
        ) from None


def _header_map(header: list[str], path: Path) -> dict[str, int]:
    norm = [unicodedata.normalize("NFKC", h or "").strip().lower() for h in header]
    found: dict[str, int] = {}
    for col, names in _ALIASES.items():
        for i, h in enumerate(norm):
            if h in names and col not in found:
                found[col] = i
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise MasterFileError(
            f"{path.name}: row 1 (header): missing column(s) {', '.join(missing)}; "
            f"found {', '.join(h for h in header if h) or 'no columns'}"
        )
    return found


def _rows_from_table(table: Iterable[list[str]], path: Path) -> list[MapInput]:
    it = iter(table)
    header = next(it, None)
    if header is None:
        raise MasterFileError(f"{path.name}: the file is empty (no header row)")
    cols = _header_map(header, path)
    out: list[MapInput] = []
    seen: dict[str, int] = {}
    for rowno, raw in enumerate(it, start=2):
        if not any((c or "").strip() for c in raw):
            continue

        def get(name: str, raw: list[str] = raw) -> str:
            i = cols.get(name)
            if i is None or i >= len(raw):
                return ""
            return str(raw[i] if raw[i] is not None else "").strip()

        code = get("local_code")
        name = get("local_name")
        if not code:
            raise MasterFileError(f"{path.name}: row {rowno}, column local_code: empty code")
        if not name:
            raise MasterFileError(f"{path.name}: row {rowno}, column local_name: empty name")
        if code in seen:
            raise MasterFileError(
                f"{path.name}: row {rowno}, column local_code: duplicate local code "
                f"(first seen in row {seen[code]})"
            )
        seen[code] = rowno
        out.append(
            MapInput(code, name, get("specimen"), get("unit"), get("method"), get("category"))
        )
    return out


def read_master(path: str | os.PathLike[str]) -> list[MapInput]:
    p = Path(path)
    if not p.is_file():
        raise MasterFileError(f"{p}: no such file")
    raw = p.read_bytes()
    if p.suffix.lower() in (".xlsx", ".xlsm") or raw[:4] == b"PK\x03\x04":
        return _read_xlsx(p)
    text = _decode(raw, p)
    first = text.split("\n", 1)[0]
    if p.suffix.lower() == ".csv":
        delim = ","
    elif p.suffix.lower() in (".tsv", ".tab"):
        delim = "\t"
    else:
        delim = "\t" if first.count("\t") >= first.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        return _rows_from_table(reader, p)
    except csv.Error as exc:
        raise MasterFileError(f"{p.name}: malformed {delim!r}-separated text: {exc}") from None


def _read_xlsx(p: Path) -> list[MapInput]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise MasterFileError(
            f"{p.name}: not a readable xlsx workbook ({type(exc).__name__})"
        ) from None
    try:
        ws = wb.worksheets[0]
        table = (
            ["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)
        )
        return _rows_from_table(table, p)
    finally:
        wb.close()


def result_rows(results: Iterable[MapResult]) -> Iterable[list[str]]:
    for r in results:
        cands = json.dumps(
            [{"jlac10": c.jlac10, "score": c.score} for c in r.candidates[:5]],
            ensure_ascii=False,
        )
        yield [r.local_code, r.jlac10, r.jlac11, f"{r.confidence:.4f}", r.status, cands]


def write_results(path: str | os.PathLike[str], results: Iterable[MapResult]) -> int:
    """Write the TSV atomically (temp file + rename): a failure leaves no partial output."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".jlac-", suffix=".tsv", dir=p.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write("\t".join(OUTPUT_HEADER) + "\n")
            for row in result_rows(results):
                fh.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row) + "\n")
                n += 1
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n
