"""Evidence from the specimen, method/reagent and unit columns, as JLAC10 segment code sets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mappings.jlac.normalize import compact_key, normalize_text

# --- material -----------------------------------------------------------------------------
_ADDITIVE = re.compile(
    r"EDTA|ヘパリン|HEPARIN|クエン酸|CITRATE|NAF|フッ化|シュウ酸|添加|加|入り|入|抗凝固"
)
_MATERIAL_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]], ...] = (
    # pattern, preferred material codes, tolerated (small penalty)
    (
        re.compile(r"蓄尿|24H尿|24時間尿|1日尿|24HU|時間尿|24HR?URINE|^24H$"),
        ("004",),
        ("001", "005"),
    ),
    (re.compile(r"早朝尿"), ("001", "006"), ("002",)),
    (re.compile(r"尿|^U$|URINE|^URI?N?$|^UR$"), ("001",), ("002", "003", "006")),
    (re.compile(r"髄液|CSF|脳脊髄|SPINAL"), ("041",), ()),
    (re.compile(r"便|糞|STOOL|FECES"), ("015",), ()),
    (re.compile(r"胸水"), ("042",), ("040",)),
    (re.compile(r"腹水"), ("043",), ("040",)),
    (re.compile(r"関節液"), ("044",), ("040",)),
    (re.compile(r"心嚢液"), ("045",), ("040",)),
    (re.compile(r"骨髄"), ("046",), ()),
    (re.compile(r"羊水"), ("047",), ()),
    (re.compile(r"穿刺液"), ("040",), ("042", "043", "044")),
    (re.compile(r"胃液"), ("052",), ()),
    (re.compile(r"唾液"), ("056",), ()),
    (re.compile(r"精液"), ("060",), ()),
    (re.compile(r"喀痰|痰"), ("061",), ()),
    (re.compile(r"ろ紙|濾紙"), ("033",), ()),
    (re.compile(r"動脈|ARTERIAL|^ABG$"), ("020",), ("018", "019")),
    (re.compile(r"毛細|指先|指尖|耳朶|指頭"), ("021",), ("018", "019")),
    (re.compile(r"血清|^S$|SERUM|^SER$|^SRM$|^\(S\)$"), ("023",), ()),
    (re.compile(r"血漿|^P$|PLASMA|^PLA?S?$|^\(P\)$"), ("022",), ()),
)
_WHOLE_BLOOD = re.compile(
    r"全血|血液|^B$|^WB$|WHOLEBLOOD|BLOOD|^BLD$|静脈血|EDTA|ヘパリン|NAF|クエン酸|フッ化|^血$|血$"
)


@dataclass(frozen=True)
class MaterialEvidence:
    preferred: frozenset[str]
    tolerated: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.preferred)


NO_MATERIAL = MaterialEvidence(frozenset(), frozenset())


@lru_cache(maxsize=10_000)
def material_evidence(specimen: str) -> MaterialEvidence:
    s = normalize_text(specimen)
    if not s:
        return NO_MATERIAL
    for pat, pref, tol in _MATERIAL_RULES:
        if pat.search(s):
            return MaterialEvidence(frozenset(pref), frozenset(tol))
    if _WHOLE_BLOOD.search(s):
        if _ADDITIVE.search(s):
            return MaterialEvidence(frozenset({"019"}), frozenset({"018"}))
        return MaterialEvidence(frozenset({"018"}), frozenset({"019"}))
    return NO_MATERIAL


# --- method ---------------------------------------------------------------------------------
# Longest/most specific first; matched text is removed before the next rule is tried. Each rule
# gives the JLAC10 measuring-method codes the words allow (JSLM 測定法コード).
_VIS = ("271", "275", "277")
_UVS = ("272", "278", "279")
_METHOD_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"JSCC標準化対応法以外|JSCC以外"), ("277", "278")),
    (re.compile(r"レフラクトメトリー・?IFCC|ドライ.*IFCC|反射.*IFCC"), ("290",)),
    (re.compile(r"IFCC"), ("275", "279", "290")),
    (re.compile(r"(ドライ|反射|レフラクト|スライド).*JSCC|JSCC.*(ドライ|反射)"), ("291",)),
    (re.compile(r"JSCC"), ("271", "272")),
    (re.compile(r"可視|比色|ビウレット|BCG|BCP|ジアゾ|酵素比色|COLORIMETR|VISIBLE"), _VIS),
    (re.compile(r"紫外|UV|ULTRAVIOLET"), _UVS),
    (re.compile(r"ドライケミ|ドライ|反射|レフラクト|乾式|スライド|DRY"), ("290", "291")),
    (re.compile(r"酵素法|酵素的|ENZYM"), _VIS + _UVS),
    (re.compile(r"酵素電極|酵素センサ"), ("262", "261")),
    (re.compile(r"電流|GOD電極|アンペロ"), ("262",)),
    (re.compile(r"電位差|電極|イオン選択|ISE|イオン電極|ELECTRODE|POTENTIOMETR"), ("261",)),
    (re.compile(r"電導|電気伝導"), ("264",)),
    (re.compile(r"電気化学発光|ECLIA|ECL"), ("053",)),
    (re.compile(r"化学発光酵素|CLEIA"), ("052",)),
    (re.compile(r"化学発光|生物発光|CLIA|CLA"), ("051",)),
    (re.compile(r"蛍光|FIA|FEIA|TR-FIA"), ("041", "042", "043", "044")),
    (re.compile(r"ラテックス|LTIA|LA法|^LA$|LPIA|LATEX"), ("062",)),
    (re.compile(r"ネフェロ|比ろう|比朧"), ("063",)),
    (re.compile(r"免疫比濁|TIA|比濁|TURBIDIMETR"), ("061",)),
    (re.compile(r"金コロイド"), ("064",)),
    (re.compile(r"酵素免疫|EIA|ELISA|酵素抗体"), ("021", "022", "023", "024", "025")),
    (re.compile(r"イムノクロマト|IC法"), ("190",)),
    (re.compile(r"逆受身赤血球|RPHA"), ("104",)),
    (re.compile(r"受身赤血球|PHA"), ("103",)),
    (re.compile(r"粒子凝集|PA法|^PA$"), ("117",)),
    (re.compile(r"赤血球凝集|HA法|HI法"), ("101", "102")),
    (re.compile(r"補体結合|CF法|^CF$"), ("111",)),
    (re.compile(r"中和"), ("112",)),
    (re.compile(r"HPLC|高速液体"), ("204",)),
    (re.compile(r"クロマトグラフ|GC|LC-MS|LCMS|質量分析"), ("210", "204", "205", "206")),
    (re.compile(r"電気泳動"), ("230", "231", "237")),
    (re.compile(r"凝固|クロット|CLOT|COAGUL"), ("311",)),
    (re.compile(r"合成基質|発色性基質"), ("312", "271")),
    (re.compile(r"自動機械"), ("309",)),
    (re.compile(r"自動血球|血球計数|血球分析"), ("301", "309")),
    (re.compile(r"計算|算出|推算|F式|FRIEDEWALD|CALC"), ("919",)),
    (re.compile(r"機械読|機器判定|自動判定|機械判定"), ("911",)),
    (re.compile(r"目視|肉眼"), ("901",)),
    (re.compile(r"試験紙|化学発色|ディップ"), ("901", "911")),
    (re.compile(r"PCR|核酸増幅"), ("875", "871", "872", "873", "874", "876")),
    (re.compile(r"TMA"), ("886",)),
    (re.compile(r"鏡検|顕微鏡"), ("980", "981", "982")),
    (re.compile(r"RIA|放射免疫|IRMA"), ("011", "012", "013", "014")),
    (re.compile(r"方法問わず|試薬に依存しない|問わない"), ("998",)),
)


@dataclass(frozen=True)
class MethodEvidence:
    codes: frozenset[str]
    strength: float

    def __bool__(self) -> bool:
        return bool(self.codes)


NO_METHOD = MethodEvidence(frozenset(), 0.0)


@lru_cache(maxsize=10_000)
def method_word_evidence(text: str) -> MethodEvidence:
    s = normalize_text(text)
    if not s:
        return NO_METHOD
    sets: list[set[str]] = []
    for pat, codes in _METHOD_RULES:
        if pat.search(s):
            sets.append(set(codes))
            s = pat.sub("", s)
    if not sets:
        return NO_METHOD
    acc = set(sets[0])
    for other in sets[1:]:
        inter = acc & other
        if inter:
            acc = inter
    return MethodEvidence(frozenset(acc), 1.0)


_J11_BASE = (
    (re.compile(r"動脈"), "22"),
    (re.compile(r"毛細|指先|指尖|耳朶"), "23"),
    (re.compile(r"血漿|^P$|PLASMA"), "24"),
    (re.compile(r"血清|^S$|SERUM"), "25"),
    (re.compile(r"ろ紙|濾紙"), "27"),
    (re.compile(r"全血|血液|^B$|^WB$|静脈血|血$"), "21"),
)
_J11_ADDITIVE = (
    (re.compile(r"EDTA"), "2"),
    (re.compile(r"ヘパリン|HEPARIN"), "3"),
    (re.compile(r"クエン酸|CITRATE"), "4"),
    (re.compile(r"フッ化|NAF"), "5"),
    (re.compile(r"シュウ酸"), "6"),
    (re.compile(r"添加|加|入り"), "1"),
)


@lru_cache(maxsize=10_000)
def jlac11_material(specimen: str) -> str:
    """JLAC11 material code (3 chars) implied by a specimen text, '' when unknown."""
    s = normalize_text(specimen)
    if not s:
        return ""
    if re.search(r"蓄尿|24H尿|24時間尿", s):
        return "130"
    if re.search(r"尿|^U$", s):
        return "100"
    for pat, base in _J11_BASE:
        if pat.search(s):
            if base in ("25", "27"):
                return base + "0"
            for apat, digit in _J11_ADDITIVE:
                if apat.search(s):
                    return base + digit
            return base + "0"
    return ""


def product_key(text: str) -> str:
    return compact_key(text)
