"""The JLAC normalizer: local lab-master row → JLAC10 (and JLAC11 where determinable).

Pipeline per row: parse the name (noise, timing, specimen, method, result kind) → analyte
candidates from the table name index (exact keys, synonym groups, then character similarity) →
every table code of those analytes scored segment by segment with evidence from the specimen,
method/reagent and unit columns → calibrated confidence and status ``auto`` / ``review`` /
``unmapped``. Only codes present in the tables are ever returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from mappings.jlac.evidence import (
    NO_MATERIAL,
    MaterialEvidence,
    jlac11_material,
    material_evidence,
    method_word_evidence,
    product_key,
)
from mappings.jlac.normalize import compact_key, normalize_unit
from mappings.jlac.qualifiers import ParsedName, parse_name
from mappings.jlac.tables import CodeEntry, Tables, load_tables, unit_kind

_BLOOD = {"017", "018", "019", "020", "021", "022", "023"}
_URINE = {f"{i:03d}" for i in range(1, 13)}
_TIMING_IDENTS = {f"{i:04d}" for i in range(1000, 1300)} | {"1300"}
AUTO_MIN_ANALYTE = 0.95
AUTO_MIN_MARGIN = 0.2
UNMAPPED_BELOW = 0.75


@dataclass(frozen=True)
class MapInput:
    local_code: str
    local_name: str
    specimen: str = ""
    unit: str = ""
    method: str = ""
    category: str = ""


@dataclass
class Candidate:
    jlac10: str
    score: float


@dataclass
class MapResult:
    local_code: str
    jlac10: str
    jlac11: str
    confidence: float
    status: str
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""


@dataclass
class _Evidence:
    parsed: ParsedName
    material: MaterialEvidence
    method_codes: frozenset[str]
    product_codes: dict[str, list[str]]
    product_key: str
    kinds: frozenset[str]
    unit: str
    specimen_text: str


def _family(material: str) -> str:
    if material in _BLOOD:
        return "blood"
    if material in _URINE:
        return "urine"
    return material


def default_material(analyte: str, available: set[str]) -> str | None:
    """Convention: empty specimen → the test's usual blood material."""
    if analyte.startswith("2A") or analyte in ("3D045", "3D046"):
        prefs = ["019", "018", "022", "023"]
    elif analyte.startswith("2B"):
        prefs = ["022", "019", "023"]
    elif analyte.startswith("1"):
        prefs = ["001", "015", "004"]
    else:
        prefs = ["023", "022", "019", "018"]
    for p in prefs:
        if p in available:
            return p
    return None


class Mapper:
    """Maps lab-master rows. Thread-compatible; caches per distinct row content."""

    def __init__(
        self,
        tables: Tables | None = None,
        reranker: Callable[[MapInput, list[Candidate]], str | None] | None = None,
    ) -> None:
        self.t = tables or load_tables()
        self.reranker = reranker
        self._cache: dict[tuple[str, str, str, str], MapResult] = {}
        self._fuzzy_cache: dict[str, list[tuple[str, float]]] = {}
        self._mats: dict[str, set[str]] = {}
        for a, codes in self.t.by_analyte.items():
            self._mats[a] = {c[9:12] for c in codes}
        self._has01 = {c[:5] for c in self.t.codes if c[15:17] == "01"}
        self._prior = {
            c: 0.01 * len(e.sources) + (0.02 if "tokutei_4th" in e.sources else 0.0)
            for c, e in self.t.codes.items()
        }
        self._products_by_analyte: dict[str, list[str]] = {}
        for pk, prow in self.t.products.items():
            for a in {c10[:5] for c10, _ in prow}:
                self._products_by_analyte.setdefault(a, []).append(pk)
        self._prefix_keys = sorted(k for k in self.t.keys if len(k) >= 3)
        self._canon_units: dict[str, set[str]] = {
            c: {self.t.unit_map.get(u, u) for u in e.units} for c, e in self.t.codes.items()
        }

    # --- retrieval -----------------------------------------------------------------------
    def _fuzzy(self, key: str) -> list[tuple[str, float]]:
        hit = self._fuzzy_cache.get(key)
        if hit is None:
            res = process.extract(key, self.t.keys, scorer=fuzz.ratio, limit=5, score_cutoff=70)
            hit = [(k, s / 100.0) for k, s, _ in res]
            self._fuzzy_cache[key] = hit
        return hit

    def analytes(self, pn: ParsedName) -> dict[str, float]:
        out: dict[str, float] = {}
        idx = self.t.key_index
        variants = list(pn.variants)
        for key, w, spec in pn.variants[:4]:
            for alt in (
                key[1:] if key.startswith("総") else "",
                key[:-1] if key.endswith("値") else "",
            ):
                if len(alt) >= 2:
                    variants.append((alt, w * 0.93, spec))
        for key, w, _spec in variants:
            for a, hw in idx.get(key, {}).items():
                s = w * hw
                if s > out.get(a, 0.0):
                    out[a] = s
        if not out:
            self._fuzzy_analytes(pn, out)
        # HbA1c: NGSP unless the name says JDS (3D046 NGSP / 3D045 JDS)
        if "3D045" in out or "3D046" in out:
            sc = max(out.get("3D045", 0.0), out.get("3D046", 0.0))
            jds = "JDS" in pn.text
            out.pop("3D046" if jds else "3D045", None)
            out["3D045" if jds else "3D046"] = sc
        return out

    def _fuzzy_analytes(self, pn: ParsedName, out: dict[str, float]) -> None:
        idx = self.t.key_index
        # truncated abbreviations (総ビリ → 総ビリルビン): a unique analyte among keys it starts
        for key, w, _spec in pn.variants[:2]:
            if len(key) < 3 or key.isascii():
                continue
            hits: set[str] = set()
            for k in self._prefix_keys:
                if k.startswith(key) and k != key:
                    hits.update(a for a, hw in idx[k].items() if hw >= 0.97)
            if len(hits) == 1:
                out[hits.pop()] = 0.9 * w
                return
        for key, w, _spec in pn.variants[:3]:
            if len(key) < 2:
                continue
            for k, r in self._fuzzy(key):
                for a, hw in idx[k].items():
                    s = w * hw * r * 0.92
                    if s > out.get(a, 0.0):
                        out[a] = s

    # --- evidence ------------------------------------------------------------------------
    def _evidence(self, row: MapInput, pn: ParsedName, an: dict[str, float]) -> _Evidence:
        spec_text = row.specimen.strip()
        mat = material_evidence(spec_text) if spec_text else NO_MATERIAL
        if not mat and pn.specimen:
            mat = material_evidence(pn.specimen)
        pkey = product_key(row.method) if row.method else ""
        product_codes: dict[str, list[str]] = {}
        if pkey:
            rows = self.t.products.get(pkey)
            if rows is None and len(pkey) >= 4:
                pool = sorted({k for a in an for k in self._products_by_analyte.get(a, ())})
                best = process.extractOne(pkey, pool, scorer=fuzz.ratio, score_cutoff=80)
                if best:
                    pkey = best[0]
                    rows = self.t.products.get(pkey)
            for c10, c11 in rows or ():
                if c10[:5] in an:
                    product_codes.setdefault(c10, []).append(c11)
            if not product_codes:
                pkey = ""
        words = " ".join([row.method] + sorted(pn.methods))
        mev = method_word_evidence(words)
        method_codes = mev.codes
        if not method_codes and row.method:
            method_codes = frozenset(self.t.method_names.get(compact_key(row.method), ()))
        unit = normalize_unit(row.unit)
        unit = self.t.unit_map.get(unit, unit)
        kinds = set(pn.kinds)
        uk = unit_kind(unit)
        if uk and not (uk == "quant" and kinds & {"qual", "semi", "titre", "index"}):
            kinds.add(uk)
        return _Evidence(
            parsed=pn,
            material=mat,
            method_codes=method_codes,
            product_codes=product_codes,
            product_key=pkey,
            kinds=frozenset(kinds),
            unit=unit,
            specimen_text=spec_text,
        )

    # --- scoring -------------------------------------------------------------------------
    def _score(self, e: CodeEntry, a_score: float, ev: _Evidence, specific: bool) -> float:
        s = a_score
        pn = ev.parsed
        if e.analyte.endswith("990"):
            s -= 0.6
        for key, w, _sp in pn.variants:
            if e.code in self.t.code_keys.get(key, ()):
                s += 0.04 * w
                break
        s += self._prior.get(e.code, 0.0)
        # identification
        if pn.timing is not None:
            if e.ident != f"{pn.timing:04d}":
                s -= 0.8
        elif e.ident in _TIMING_IDENTS:
            s -= 0.7
        elif e.ident != "0000":
            s -= 0.05
        # material
        if ev.material:
            if e.material in ev.material.preferred:
                pass
            elif e.material in ev.material.tolerated:
                s -= 0.2
            elif _family(e.material) == _family(next(iter(ev.material.preferred))):
                s -= 0.45
            else:
                s -= 0.9
        else:
            mats = self._mats.get(e.analyte, set())
            d = default_material(e.analyte, mats)
            if d and e.material != d:
                s -= 0.25 if _family(e.material) == _family(d) else 0.5
            if not mats & _BLOOD:
                s -= 0.3
        # method / product
        if ev.product_codes:
            if e.code in ev.product_codes:
                s += 0.15
            else:
                s -= 0.3
        if ev.method_codes:
            if e.method in ev.method_codes:
                s += 0.05
            else:
                s -= 0.3 if e.method in ("998", "999") else 0.5
        elif e.method in ("998", "999") and specific:
            s -= 0.15
        # result
        kinds = ev.kinds
        prof = e.kinds
        if kinds:
            if kinds & prof or (("semi" in kinds) and ("qual" in prof)):
                s += 0.05
            elif kinds == {"quant"}:
                s -= 0.3 if e.result != "01" else 0.0
            else:
                s -= 0.6
        elif e.result != "01" and "quant" not in prof and e.analyte in self._has01:
            s -= 0.3
        if ev.unit and ev.unit in self._canon_units.get(e.code, ()):
            s += 0.05
        return s

    def _jlac11(self, e: CodeEntry, ev: _Evidence) -> str:
        if not e.jlac11 or not ev.product_codes:
            return ""
        rows = [r for r in e.jlac11 if r[1] == ev.product_key]
        if not rows:
            return ""
        if len({r[0] for r in rows}) > 1:
            want = jlac11_material(ev.specimen_text or (ev.parsed.specimen or ""))
            if want:
                exact = [r for r in rows if r[0][9:12] == want]
                base = [r for r in rows if r[0][9:12] == want[:2] + "0"]
                rows = exact or base or rows
        if len({r[0] for r in rows}) > 1 and ev.unit:
            narrowed = [r for r in rows if self.t.unit_map.get(r[3], r[3]) == ev.unit]
            rows = narrowed or rows
        codes = sorted({r[0] for r in rows})
        return codes[0] if len(codes) == 1 else ""

    def map_row(self, row: MapInput) -> MapResult:
        key = (row.local_name, row.specimen, row.unit, row.method)
        cached = self._cache.get(key)
        if cached is not None:
            return MapResult(
                row.local_code,
                cached.jlac10,
                cached.jlac11,
                cached.confidence,
                cached.status,
                cached.candidates,
                cached.reason,
            )
        res = self._map(row)
        self._cache[key] = res
        return res

    def _map(self, row: MapInput) -> MapResult:
        pn = parse_name(row.local_name)
        if not pn.variants:
            return MapResult(row.local_code, "", "", 0.0, "unmapped", [], "empty name")
        an = self.analytes(pn)
        if not an:
            return MapResult(row.local_code, "", "", 0.0, "unmapped", [], "no candidate")
        ev = self._evidence(row, pn, an)
        scored: list[tuple[float, str, float]] = []
        for a, a_score in an.items():
            codes = self.t.by_analyte.get(a, ())
            specific_keys = {(c[5:12], c[15:17]) for c in codes if c[12:15] not in ("998", "999")}
            for c in codes:
                e = self.t.codes[c]
                specific = (c[5:12], c[15:17]) in specific_keys
                scored.append((self._score(e, a_score, ev, specific), c, a_score))
        scored.sort(key=lambda x: (-x[0], x[1]))
        best_s, best_c, best_a = scored[0]
        second = scored[1][0] if len(scored) > 1 else best_s - 1.0
        margin = best_s - second
        penalty = min(0.0, best_s - best_a)
        cands = [Candidate(c, round(max(0.0, min(1.0, s)), 4)) for s, c, _ in scored[:5]]
        if self.reranker is not None and len(cands) > 1:
            choice = self.reranker(row, cands)
            if choice and choice != best_c and choice in {c.jlac10 for c in cands}:
                best_c = choice
                margin = 0.0
        conf = best_a * min(1.0, 0.55 + margin) + penalty * 0.5
        conf = round(max(0.0, min(1.0, conf)), 4)
        e = self.t.codes[best_c]
        if pn.admin or best_a < UNMAPPED_BELOW:
            return MapResult(row.local_code, "", "", min(conf, 0.3), "unmapped", cands, "weak")
        status = "review"
        composed = e.sources == {"codebook_composed"}
        if (
            best_a >= AUTO_MIN_ANALYTE
            and margin >= AUTO_MIN_MARGIN
            and penalty > -0.3
            and not composed
        ):
            status = "auto"
        return MapResult(row.local_code, best_c, self._jlac11(e, ev), conf, status, cands)

    def map_rows(
        self, rows: Iterable[MapInput], progress: Callable[[int], None] | None = None
    ) -> Iterator[MapResult]:
        for i, row in enumerate(rows, 1):
            yield self.map_row(row)
            if progress is not None:
                progress(i)
