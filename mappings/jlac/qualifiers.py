"""Split qualifiers (timing, specimen, method, result kind) and noise out of a lab-test name.

The same parser reads the names in the code tables and the names in a hospital master, so both
sides end up with comparable cores and qualifier sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from mappings.jlac.normalize import compact_key, normalize_text

# --- noise --------------------------------------------------------------------------------
_LEAD_SYMBOLS = re.compile(r"^[*◎○●◆◇■□☆★※#@+・!?〇△▲▽▼]+")
_TRAIL_SYMBOLS = re.compile(r"[*◎○●◆◇■□☆★※#@+・!?〇△▲▽▼]+$")
_LEAD_PREFIX = re.compile(r"^[^()]{1,3}\)(?=.)")
_NOISE_BRACKET = re.compile(
    r"\((?:外注|院内|院外|至急|緊急|再検|旧|新|外|委託|参考|SRL|BML|LSI|FMS|検査センター|"
    r"外部委託|院内測定|当日|翌日|補助)[^()]*\)"
)
_NOISE_TAIL = re.compile(r"(?:\(?(?:外注|院内|院外)\)?)$")
_ADMIN = re.compile(
    r"セット|コメント|備考|フラグ|確認|ルーチン|一式|パネル|依頼|受付|メモ|加算|管理料|判断料|"
    r"採血料|検体採取|オーダ|項目群|まとめ|連絡|入力|検体番号|保存|予約|請求|区分|バーコード|"
    r"ラベル|容器|問診|フリー|^セット|^\W*$"
)

# --- timing (identification) --------------------------------------------------------------
_TIMING: tuple[tuple[re.Pattern[str], object], ...] = (
    (re.compile(r"負荷後?(\d{1,3})分(?:後|値)?"), lambda m: 1000 + int(m.group(1))),
    (re.compile(r"負荷後?(\d)(?:時間|H|HR)(?:後|値)?"), lambda m: 1000 + 60 * int(m.group(1))),
    (re.compile(r"(\d{1,3})分(?:後|値)"), lambda m: 1000 + int(m.group(1))),
    (re.compile(r"(\d)時間(?:後|値)"), lambda m: 1000 + 60 * int(m.group(1))),
    (re.compile(r"負荷前値?|前値"), lambda m: 1000),
    (re.compile(r"空腹時?"), lambda m: 1300),
    (re.compile(r"随時(?!尿)"), lambda m: 1299),
)

# --- specimen words ------------------------------------------------------------------------
_SPECIMEN_WORDS = (
    "随時尿|部分尿|早朝尿|蓄尿|24H尿|24時間尿|1日尿|新鮮尿|尿中|髄液|脳脊髄液|CSF|糞便|便中|"
    "血清|血漿|全血|動脈血|静脈血|血中|胸水|腹水|関節液|穿刺液|心嚢液|骨髄液|羊水|胃液|唾液|"
    "精液|喀痰|尿|便"
)
_SPEC_PREFIX = re.compile(rf"^(?:({_SPECIMEN_WORDS})(?!酸|素)|(U|S|CSF|B|WB)[-.・](?=.))")
_SPEC_BRACKET = re.compile(rf"\(({_SPECIMEN_WORDS}|S|P|U|B|WB|SERUM|PLASMA|URINE)\)")
_SPEC_SUFFIX = re.compile(rf"(?<=.)(?:中)?[-・]?({_SPECIMEN_WORDS})(?:中)?$")
_SPEC_LETTER = {"U": "尿", "S": "血清", "P": "血漿", "B": "全血", "WB": "全血", "CSF": "髄液"}
_SPEC_LETTER.update({"SERUM": "血清", "PLASMA": "血漿", "URINE": "尿"})

# --- method words found in names -------------------------------------------------------------
_NAME_METHODS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\((?:IFCC|IF)(?:法|値|対応)?\)|-(?:IFCC|IF)$|IFCC(?:法|値|対応)?"), "IFCC"),
    (re.compile(r"\((?:JSCC|JS)(?:法|値|対応)?\)|-(?:JSCC|JS)$|JSCC(?:法|値|対応)?"), "JSCC"),
    (re.compile(r"\(直接\)|直接法|直接測定|ダイレクト法?"), "直接"),
    (re.compile(r"\(計算\)|\(計\)|計算値|計算法|計算|F式|FRIEDEWALD(?:式)?|推算値?"), "計算"),
    (re.compile(r"\(HPLC\)|HPLC法?"), "HPLC"),
    (re.compile(r"\(酵素法\)|酵素法"), "酵素法"),
    (re.compile(r"\(ラテックス(?:法)?\)|\(LA\)"), "ラテックス"),
)

# --- result kinds ----------------------------------------------------------------------------
_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\(?(?:CR補正|クレアチニン補正|CRE補正|対CR比?|/CR比?|/CRE比?|/G・?CR)\)?"),
        "crcorr",
    ),
    (re.compile(r"\(?(?:1日量|日量|1日排泄量|24時間量|24H量|/日|/DAY)\)?|^1日(?=.+量$)"), "perday"),
    (re.compile(r"\(?(?:希釈倍率|倍率|倍数|抗体価|\(倍\)|定量\(倍\))\)?"), "titre"),
    (re.compile(r"\(?半定量\)?"), "semi"),
    (re.compile(r"\(?(?:定性|判定|陰陽性|\(\+/-\))\)?"), "qual"),
    (re.compile(r"\(?定量\)?"), "quant"),
    (re.compile(r"\(?(?:-|\()?INR\)?"), "inr"),
    (re.compile(r"\(?(?:S/CO|COI|C\.O\.I|カットオフインデックス|インデックス|INDEX)\)?"), "index"),
    (re.compile(r"\(?吸光度\)?"), "absorbance"),
    (re.compile(r"\(?所見\)?"), "finding"),
    (re.compile(r"\((?:%|活性|活性%|活性値)\)|(?<=[A-Z0-9])(?:活性%|活性値|活性|%)|%$"), "pct"),
    (re.compile(r"\((?:比|RATIO|PTRATIO|PT比)\)|(?<=[A-Z0-9])(?:比|-?RATIO)$"), "ratio"),
    (re.compile(r"\((?:秒|SEC|時間\(秒\))\)|(?<=[A-Z0-9])(?:秒|-?SEC)$"), "sec"),
)


@dataclass(frozen=True)
class ParsedName:
    text: str
    core: str
    core_no_specimen: str | None
    timing: int | None
    specimen: str | None
    methods: frozenset[str]
    kinds: frozenset[str]
    admin: bool
    variants: tuple[tuple[str, float, bool], ...] = field(default=())
    """(compact key, weight, uses the specimen split) in lookup priority order."""


def _strip_noise(s: str) -> str:
    prev = None
    while prev != s:
        prev = s
        s = _LEAD_SYMBOLS.sub("", s)
        s = _TRAIL_SYMBOLS.sub("", s)
        s = _NOISE_BRACKET.sub("", s)
        s = _NOISE_TAIL.sub("", s) if len(s) > 4 else s
        if _LEAD_PREFIX.match(s) and "(" not in s.split(")")[0]:
            s = _LEAD_PREFIX.sub("", s)
    return s


def _paren_split(s: str) -> tuple[str, list[str]]:
    parts = re.findall(r"\(([^()]*)\)", s)
    main = re.sub(r"\([^()]*\)", "", s)
    return main, [p for p in parts if p]


@lru_cache(maxsize=100_000)
def parse_name(name: str) -> ParsedName:
    text = normalize_text(name)
    s = _strip_noise(text)
    admin = bool(_ADMIN.search(s))
    timing: int | None = None
    for pat, fn in _TIMING:
        m = pat.search(s)
        if m:
            timing = fn(m)  # type: ignore[operator]
            s = (s[: m.start()] + s[m.end() :]).strip("-・")
            break
    methods = set()
    for pat, label in _NAME_METHODS:
        if pat.search(s):
            methods.add(label)
            s = pat.sub("", s)
    kinds = set()
    for _ in range(2):
        for pat, label in _KINDS:
            if pat.search(s):
                new = pat.sub("", s)
                if compact_key(new):
                    kinds.add(label)
                    s = new
    specimen: str | None = None
    m = _SPEC_BRACKET.search(s)
    if m and compact_key(s[: m.start()] + s[m.end() :]):
        specimen = _SPEC_LETTER.get(m.group(1), m.group(1))
        s = s[: m.start()] + s[m.end() :]
    s = re.sub(r"\(\)", "", s).strip("-・")
    core_no_spec: str | None = None
    m = _SPEC_PREFIX.match(s)
    if m and len(s) > m.end():
        word = m.group(1) or m.group(2)
        specimen = specimen or _SPEC_LETTER.get(word, word)
        core_no_spec = s[m.end() :].lstrip("-・中")
    else:
        m2 = _SPEC_SUFFIX.search(s)
        if m2 and m2.start() > 0:
            specimen = specimen or m2.group(1)
            core_no_spec = s[: m2.start()]
    variants: list[tuple[str, float, bool]] = []
    seen: set[str] = set()

    def add(v: str, w: float, spec: bool) -> None:
        k = compact_key(v)
        if k and k not in seen:
            seen.add(k)
            variants.append((k, w, spec))

    add(s, 1.0, False)
    if core_no_spec:
        add(core_no_spec, 0.99, True)
    main, parens = _paren_split(s)
    add(main, 0.97, False)
    if core_no_spec:
        main2, parens2 = _paren_split(core_no_spec)
        add(main2, 0.96, True)
        parens = parens + parens2
    for p in parens:
        pm = _SPEC_PREFIX.match(p)
        add(p, 0.95, False)
        if pm and len(p) > pm.end():
            add(p[pm.end() :].lstrip("-・"), 0.94, True)
    return ParsedName(
        text=text,
        core=s,
        core_no_specimen=core_no_spec,
        timing=timing,
        specimen=specimen,
        methods=frozenset(methods),
        kinds=frozenset(kinds),
        admin=admin,
        variants=tuple(variants),
    )
