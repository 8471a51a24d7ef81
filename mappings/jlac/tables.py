"""Load the shipped JLAC code tables and build the lookup indexes (at load time, cached).

The shipped files under ``data/`` are the public tables unmodified apart from format (see
``data/SOURCE.md``); every derived structure (code universe, analyte names, unit and product
indexes) is built here in memory. Extra tables written by ``jlac import-codebook`` (a directory of
``codebook_*.tsv``) extend the universe.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from mappings.jlac.normalize import compact_key, normalize_text, normalize_unit
from mappings.jlac.qualifiers import parse_name

DATA_DIR = Path(__file__).parent / "data"
_CODE10 = re.compile(r"^[0-9][0-9A-Z]{4}[0-9A-Z]{12}$")
_FRACTION_SPLIT = re.compile(r"\s+[-－‐−]\s+")


@dataclass
class CodeEntry:
    code: str
    names: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    method_names: set[str] = field(default_factory=set)
    jlac11: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(jlac11 code, product key, JLAC11 material name, normalized unit)."""
    sources: set[str] = field(default_factory=set)

    @property
    def analyte(self) -> str:
        return self.code[0:5]

    @property
    def ident(self) -> str:
        return self.code[5:9]

    @property
    def material(self) -> str:
        return self.code[9:12]

    @property
    def method(self) -> str:
        return self.code[12:15]

    @property
    def result(self) -> str:
        return self.code[15:17]


@dataclass
class Tables:
    codes: dict[str, CodeEntry]
    by_analyte: dict[str, list[str]]
    key_index: dict[str, dict[str, float]]
    code_keys: dict[str, set[str]]
    keys: list[str]
    products: dict[str, list[tuple[str, str]]]
    product_keys: list[str]
    materials: dict[str, str]
    unit_map: dict[str, str]
    method_names: dict[str, set[str]]
    fingerprint: str
    jlac11_codes: set[str]


def _read_tsv(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader, None)
        yield from reader


def _col(row: list[str], i: int) -> str:
    return row[i].strip() if i < len(row) else ""


_UNIT_KIND = (
    (re.compile(r"cr|creat|クレアチニン"), "crcorr"),
    (re.compile(r"/d$|/day|/日|/24h"), "perday"),
    (re.compile(r"^倍$|^titer|^x?倍"), "titre"),
    (re.compile(r"^%$|^％$"), "pct"),
    (re.compile(r"^(s|sec|秒)$"), "sec"),
    (re.compile(r"^inr$"), "inr"),
    (re.compile(r"coi|s/co|index|^c\.o\.i"), "index"),
    (re.compile(r"^(\(-\)|-|定性|判定|陰性|\+|\.|class|lc)$"), "qual"),
    (re.compile(r"^(比|ratio)$"), "ratio"),
    (re.compile(r"吸光度|abs"), "absorbance"),
)
_RESULT_KIND = {"01": "quant", "02": "pct", "05": "titre", "11": "qual", "12": "semi"}
_RESULT_KIND.update({"26": "perday", "28": "crcorr", "49": "finding"})


def unit_kind(unit_norm: str) -> str | None:
    if not unit_norm:
        return None
    for pat, kind in _UNIT_KIND:
        if pat.search(unit_norm):
            return kind
    return "quant"


class _Builder:
    def __init__(self) -> None:
        self.codes: dict[str, CodeEntry] = {}
        self.products: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.method_names: dict[str, set[str]] = defaultdict(set)
        self.jlac11: set[str] = set()

    def entry(self, code: str, source: str) -> CodeEntry | None:
        code = code.strip().upper()
        if not _CODE10.match(code):
            return None
        e = self.codes.get(code)
        if e is None:
            e = self.codes[code] = CodeEntry(code)
        e.sources.add(source)
        return e

    def add(
        self,
        code: str,
        source: str,
        names: Iterable[str] = (),
        unit: str = "",
        method_name: str = "",
    ) -> CodeEntry | None:
        e = self.entry(code, source)
        if e is None:
            return None
        for n in names:
            n = n.strip()
            if n and n not in ("-", "ー"):
                e.names.add(n)
        if unit:
            e.units.add(normalize_unit(unit))
        if method_name:
            e.method_names.add(method_name)
            self.method_names[compact_key(method_name)].add(e.method)
        return e


def _load_shipped(b: _Builder, data: Path) -> None:
    master = data / "jpclins_master_jlac10_jlac11_0930.tsv"
    for row in _read_tsv(master):
        code10, code11 = _col(row, 14), _col(row, 10).upper()
        product = _col(row, 7)
        e = b.add(
            code10,
            "jpclins_0930",
            (_col(row, 3), _col(row, 4), _col(row, 6)),
            _col(row, 11),
            _col(row, 13),
        )
        if e is None:
            continue
        if len(code11) == 17:
            pkey = compact_key(product)
            e.jlac11.append((code11, pkey, _col(row, 8), normalize_unit(_col(row, 11))))
            b.jlac11.add(code11)
            if pkey:
                b.products[pkey].append((e.code, code11))
    for name in ("jpclins_cs_jlac10_corelabo_v152.tsv", "jpclins_cs_jlac10_infectionlabo_v152.tsv"):
        for row in _read_tsv(data / name):
            b.add(
                _col(row, 1),
                "jpclins_cs152",
                (_col(row, 2), _col(row, 3)),
                _col(row, 6),
                _col(row, 5),
            )
    for row in _read_tsv(data / "jpclins_laboitemset_20231104_core43.tsv"):
        for ci in (7, 8):
            b.add(
                _col(row, ci),
                "jpclins_set",
                (_col(row, 1), _col(row, 2), _col(row, 5)),
                _col(row, 9),
                _col(row, 6),
            )
    for row in _read_tsv(data / "jpclins_laboitemset_20231104_infection5.tsv"):
        for ci in (5, 6):
            b.add(
                _col(row, ci),
                "jpclins_set",
                (_col(row, 1), _col(row, 2), _col(row, 3)),
                _col(row, 7),
                _col(row, 4),
            )
    for row in _read_tsv(data / "tokutei_kenshin_item_codes_4th.tsv"):
        b.add(_col(row, 0), "tokutei_4th", (_col(row, 1),))
    for row in _read_tsv(data / "orca_tokutei_extra_items_v128.tsv"):
        b.add(_col(row, 0), "orca_tokutei", (_col(row, 1),))
    for row in _read_tsv(data / "orca_tokutei_method_labels.tsv"):
        b.add(_col(row, 0), "orca_method", (), "", _col(row, 1))
    for row in _read_tsv(data / "nho_ssmix2_jlac10_units.tsv"):
        b.add(_col(row, 0), "nho_units", (_col(row, 1),), _col(row, 2))


def _default_materials(analyte: str) -> tuple[str, ...]:
    if analyte.startswith("1"):
        return ("001",)
    if analyte.startswith("2A"):
        return ("019",)
    if analyte.startswith("2B"):
        return ("022",)
    return ("023",)


def _load_extra(b: _Builder, directory: Path) -> None:
    """Tables written by ``jlac import-codebook`` (see ``mappings/jlac/codebook.py``).

    Analyte names extend the name index of analytes the tables already hold; an analyte that has
    no code in the tables gets composed codes (identification 0000, its usual material, method
    998 方法問わず, result 01 / 11) marked ``codebook_composed`` (never mapped ``auto``).
    Method names extend the method-name index.
    """
    f = directory / "codebook_analytes.tsv"
    if f.is_file():
        by_analyte: dict[str, list[CodeEntry]] = defaultdict(list)
        for e in b.codes.values():
            by_analyte[e.analyte].append(e)
        for row in _read_tsv(f):
            code = _col(row, 0).upper()
            names = [n for n in (_col(row, 1), _col(row, 2), _col(row, 3)) if n]
            if not re.fullmatch(r"[0-9][0-9A-Z]{4}", code) or not names:
                continue
            if by_analyte.get(code):
                for e in by_analyte[code]:
                    e.names.update(names)
                    e.sources.add("codebook")
                continue
            for mat in _default_materials(code):
                for result in ("01", "11"):
                    b.add(f"{code}0000{mat}998{result}", "codebook_composed", names)
    f = directory / "codebook_methods.tsv"
    if f.is_file():
        for row in _read_tsv(f):
            code = _col(row, 0)
            for n in (_col(row, 1), _col(row, 2), _col(row, 3)):
                if n and re.fullmatch(r"[0-9]{3}", code):
                    b.method_names[compact_key(n)].add(code)


def _load_synonyms(data: Path) -> list[list[str]]:
    groups = []
    f = data / "synonyms.tsv"
    for line in f.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        groups.append([p.strip() for p in line.split("|") if p.strip()])
    return groups


_KANJI = re.compile(r"[\u4e00-\u9fff]")


def _add_readings(codes: dict[str, CodeEntry], key_index: dict[str, dict[str, float]]) -> None:
    """Katakana readings of kanji names (SudachiPy), so ``ｹｯﾄｳ`` finds 血糖."""
    try:
        from sudachipy import dictionary
    except ImportError:  # pragma: no cover - sudachipy is a declared dependency
        return
    d = dictionary.Dictionary()
    tok = d.tokenizer() if hasattr(d, "tokenizer") else d.create()
    done: dict[str, str] = {}
    for e in codes.values():
        for name in e.names:
            pn = parse_name(name)
            for key, w, _spec in pn.variants[:3]:
                if not _KANJI.search(key):
                    continue
                reading = done.get(key)
                if reading is None:
                    reading = "".join(m.reading_form() for m in tok.tokenize(key))
                    reading = done[key] = compact_key(reading)
                if reading and reading not in key_index:
                    key_index.setdefault(reading, {})
                if reading:
                    old = key_index[reading].get(e.analyte, 0.0)
                    key_index[reading][e.analyte] = max(old, w * 0.97)


def is_local_code(code: str) -> bool:
    """Local ``Z`` extensions (JMA 特定健診 software): kept in the tables, never proposed."""
    return code.startswith("Z") or "Z" in code[5:]


def _fingerprint(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def table_files(extra_dir: str | None = None) -> list[Path]:
    files = sorted(DATA_DIR.glob("*.tsv"))
    if extra_dir:
        files += sorted(Path(extra_dir).glob("codebook_*.tsv"))
    files.append(Path(__file__))
    return files


@lru_cache(maxsize=4)
def load_tables(extra_dir: str | None = None) -> Tables:
    b = _Builder()
    _load_shipped(b, DATA_DIR)
    if extra_dir:
        _load_extra(b, Path(extra_dir))
    codes = b.codes
    by_analyte: dict[str, list[str]] = defaultdict(list)
    key_index: dict[str, dict[str, float]] = defaultdict(dict)
    code_keys: dict[str, set[str]] = defaultdict(set)
    for code, e in sorted(codes.items()):
        if not is_local_code(code):
            by_analyte[e.analyte].append(code)
        rk = _RESULT_KIND.get(e.result)
        if rk:
            e.kinds.add(rk)
        for u in e.units:
            k = unit_kind(u)
            if k:
                e.kinds.add(k)
        for name in e.names:
            pieces = [name] + [p for p in _FRACTION_SPLIT.split(name)[1:] if p]
            for i, piece in enumerate(pieces):
                pn = parse_name(piece)
                if i == 0:
                    e.kinds.update(pn.kinds)
                for _j, (key, w, _spec) in enumerate(pn.variants):
                    weight = w * (1.0 if i == 0 else 0.93)
                    old = key_index[key].get(e.analyte, 0.0)
                    key_index[key][e.analyte] = max(old, weight)
                    code_keys[key].add(code)
    _add_readings(codes, key_index)
    # hand-written synonym groups: every member resolves to what the group's members resolve to
    for group in _load_synonyms(DATA_DIR):
        keys = [compact_key(m) for m in group]
        own = [{a for a, w in key_index.get(k, {}).items() if w >= 0.97} for k in keys]
        target = set(own[0]) or set().union(*own)
        extra = set().union(*own[1:]) - target if len(own) > 1 else set()
        for k in keys:
            slot = key_index.setdefault(k, {})
            for a in target:
                slot[a] = max(slot.get(a, 0.0), 0.99)
            for a in extra:
                slot[a] = max(slot.get(a, 0.0), 0.9)
    unit_map: dict[str, str] = {}
    for row in _read_tsv(DATA_DIR / "nho_ssmix2_unit_variants.tsv"):
        if len(row) >= 2:
            unit_map[normalize_unit(row[1])] = normalize_unit(row[0])
    materials = {_col(r, 0): _col(r, 1) for r in _read_tsv(DATA_DIR / "jlac10_material_codes.tsv")}
    return Tables(
        codes=codes,
        by_analyte=dict(by_analyte),
        key_index=dict(key_index),
        code_keys=dict(code_keys),
        keys=sorted(key_index),
        products=dict(b.products),
        product_keys=sorted(b.products),
        materials=materials,
        unit_map=unit_map,
        method_names=dict(b.method_names),
        fingerprint=_fingerprint(table_files(extra_dir)),
        jlac11_codes=b.jlac11,
    )


def canonical_unit(tables: Tables, unit: str) -> str:
    u = normalize_unit(unit)
    return tables.unit_map.get(u, u)


def normalize_name(value: str) -> str:
    return normalize_text(value)
