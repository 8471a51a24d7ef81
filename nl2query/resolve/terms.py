"""Term linking: Japanese clinical names and abbreviations → codes, from the data tables.

Tables live in ``nl2query/data/*.tsv`` (see ``SOURCE.md`` there). Matching works on
:func:`nl2query.textnorm.norm` forms, so width (ﾜｰﾌｧﾘﾝ, ＨｂＡ１ｃ), kana and case variants fold
together. ASCII abbreviations (K, HT, AF …) only match as whole tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nl2query.ir import Concept, ResolvedCode
from nl2query.textnorm import norm, norm_keep_kana

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Entry:
    kind: str  # condition | medication | lab | allergen
    key: str
    label: str
    codes: tuple[ResolvedCode, ...]
    component: str | None = None
    unit: str | None = None
    is_class: bool = False
    members: tuple[str, ...] = field(default=())


def _rows(name: str) -> list[list[str]]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        out.append(line.split("\t"))
    return out


def _icd_prefixes(spec: str) -> list[str]:
    out: list[str] = []
    for part in spec.split(","):
        part = part.strip().replace(".", "")
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-")
            letter = a[0]
            for n in range(int(a[1:]), int(b[1:]) + 1):
                out.append(f"{letter}{n:0{len(a) - 1}d}")
        else:
            out.append(part)
    return out


def _yj_prefixes(spec: str) -> list[str]:
    """YJ ingredient prefixes; an entry ending in '?' is unverified and not used as a code
    (the drug then matches by its generic/brand names in the display text only)."""
    return [c.strip() for c in spec.split(",") if c.strip() and not c.strip().endswith("?")]


@dataclass
class Lexicon:
    entries: dict[tuple[str, str], Entry]
    surfaces: list[tuple[str, tuple[str, str]]]  # (normalised surface, (kind, key)), longest first


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    entries: dict[tuple[str, str], Entry] = {}
    surf: dict[str, tuple[str, str]] = {}

    def add_surfaces(kind: str, key: str, names: list[str]) -> None:
        for s in names:
            s = s.strip()
            if s:
                surf.setdefault(norm(s), (kind, key))

    for key, label, icd, syn in _rows("conditions.tsv"):
        texts = [p.strip()[5:] for p in icd.split(",") if p.strip().startswith("text:")]
        icd = ",".join(p for p in icd.split(",") if not p.strip().startswith("text:"))
        codes = tuple(ResolvedCode(system="icd10", code=c) for c in _icd_prefixes(icd)) + tuple(
            ResolvedCode(system="text", code=norm(t), match="contains") for t in texts
        )
        entries[("condition", key)] = Entry("condition", key, label, codes)
        add_surfaces("condition", key, [label, *syn.split("|")])
    members: dict[str, list[str]] = {}
    for key, label, classes, yj, names in _rows("drugs.tsv"):
        dcodes = [ResolvedCode(system="yj", code=c) for c in _yj_prefixes(yj)]
        dnames = [n for n in names.split("|") if n.strip()]
        dcodes += [ResolvedCode(system="text", code=norm(n), match="contains") for n in dnames]
        entries[("medication", key)] = Entry("medication", key, label, tuple(dcodes))
        add_surfaces("medication", key, [label, *dnames])
        for c in classes.split(","):
            members.setdefault(c.strip(), []).append(key)
    for key, label, syn in _rows("drug_classes.tsv"):
        mem = members.get(key, [])
        codes_l: list[ResolvedCode] = []
        for m in mem:
            codes_l.extend(entries[("medication", m)].codes)
        entries[("medication", key)] = Entry(
            "medication", key, label, tuple(codes_l), is_class=True, members=tuple(mem)
        )
        add_surfaces("medication", key, [label, *syn.split("|")])
    for key, label, codes_s, unit, comp, syn in _rows("labs.tsv"):
        codes_t = []
        for c in codes_s.split(","):
            c = c.strip()
            if c.startswith("loinc:"):
                codes_t.append(ResolvedCode(system="loinc", code=c[6:], match="exact"))
            elif c:
                codes_t.append(ResolvedCode(system="jlac10", code=c))
        entries[("lab", key)] = Entry(
            "lab", key, label, tuple(codes_t), component=comp.strip() or None, unit=unit.strip()
        )
        add_surfaces("lab", key, [label, *syn.split("|")])
    for key, label, pats, _syn in _rows("allergens.tsv"):
        codes_t = [
            ResolvedCode(system="text", code=norm(p), match="contains") for p in pats.split("|")
        ]
        entries[("allergen", key)] = Entry("allergen", key, label, tuple(codes_t))
        # allergen surfaces are looked up separately (they overlap drug names)
    surfaces = sorted(surf.items(), key=lambda kv: -len(kv[0]))
    return Lexicon(entries, surfaces)


@lru_cache(maxsize=1)
def allergen_surfaces() -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for key, label, _pats, syn in _rows("allergens.tsv"):
        for s in [label, *syn.split("|")]:
            out.setdefault(norm(s), key)
    return sorted(out.items(), key=lambda kv: -len(kv[0]))


_ASCII = re.compile(r"[a-z0-9]")
# a number and a comparator right after a Latin term name: 「eGFR30未満」「HbA1c8%以上」
_THRESHOLD_AFTER = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|mg/dl|mmhg)?\s*(?:以上|以下|未満|超|を超え|より|を下回|を上回|に満たな)"
)
_KATA = re.compile(r"[ァ-ヶー]+")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    kind: str
    key: str
    text: str


def find_mentions(question: str) -> list[Mention]:
    """Longest-first, non-overlapping concept mentions (offsets in ``norm(question)``)."""
    lex = lexicon()
    qn = norm(question)
    qk = norm_keep_kana(question)
    if len(qk) != len(qn):
        qk = qn
    taken = [False] * len(qn)
    found: list[Mention] = []
    for s, (kind, key) in lex.surfaces:
        if not s:
            continue
        start = 0
        while True:
            i = qn.find(s, start)
            if i < 0:
                break
            j = i + len(s)
            start = i + 1
            if any(taken[i:j]):
                continue
            if _ASCII.match(s[0]) and i > 0 and _ASCII.match(qn[i - 1]):
                continue
            if (
                _ASCII.match(s[-1])
                and j < len(qn)
                and _ASCII.match(qn[j])
                and not (s[-1].isalpha() and _THRESHOLD_AFTER.match(qn, j))
            ):
                continue  # "afp" is not "af"; but "egfr30未満" is eGFR with a threshold
            if _ASCII.match(s[0]) and i > 0 and (qn[i - 1].isdigit() or qn[i - 1] == "/"):
                continue  # "5mg" is a unit, not magnesium
            if _ASCII.match(s[-1]) and qn[j : j + 1] == "/":
                continue
            if _KATA.fullmatch(s) and (
                (i > 0 and _KATA.match(qk[i - 1])) or (j < len(qk) and _KATA.match(qk[j]))
            ):
                continue  # リン inside ペニシリン
            for k in range(i, j):
                taken[k] = True
            found.append(Mention(i, j, kind, key, s))
    return sorted(found, key=lambda m: m.start)


def find_allergen(qn: str) -> str | None:
    for s, key in allergen_surfaces():
        if s in qn:
            return key
    return None


def to_concept(kind: str, key: str, text: str) -> Concept:
    if not key:  # a term no table knows: match the data's display texts
        return display_concept(kind, text)
    e = lexicon().entries[(kind, key)]
    comp = {"systolic": "systolic", "diastolic": "diastolic"}.get(e.component or "")
    return Concept(
        text=text,
        kind=kind,  # type: ignore[arg-type]
        key=key,
        label=e.label,
        codes=list(e.codes),
        resolved_by="table",
        component=comp,  # type: ignore[arg-type]
    )


def display_concept(kind: str, text: str) -> Concept:
    """Fallback for a term no table knows: match the data's own display texts."""
    return Concept(
        text=text,
        kind=kind,  # type: ignore[arg-type]
        label=text,
        codes=[ResolvedCode(system="text", code=norm(text), match="contains")],
        resolved_by="display_text",
    )


def lab_unit(key: str | None) -> str | None:
    if key is None:
        return None
    e = lexicon().entries.get(("lab", key))
    return e.unit if e else None
