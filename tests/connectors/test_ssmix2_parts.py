"""Decoder/splitter, file names, storage resolution and JP Core essentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors._sdk.errors import RecordError
from connectors.ssmix2 import ConvertOptions, convert_message, decode_message, parse_message
from connectors.ssmix2.storage import StorageFile, parse_name, resolve

CASES = Path(__file__).parent / "cases" / "ssmix2"
JP = "http://jpfhir.jp/fhir/core/StructureDefinition/"
REP = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"


def test_decode_keeps_kanji_with_separator_bytes() -> None:
    # 日 = JIS 0x467C (contains '|'), 美 = 0x4E7E ('~'), 本 = 0x4B5C ('\\')
    text = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5||||||~ISO IR87||ISO 2022-1994\rPID|1||123||日本^美^^^^^L^I"
    msg = parse_message(decode_message(text.encode("iso2022_jp") + b"\r\x1c"))
    pid = msg.first("PID")
    assert pid is not None and pid.comp(5, 1) == "日本" and pid.comp(5, 2) == "美"


def test_decode_rejects_shift_jis_and_truncation() -> None:
    text = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5||||||~ISO IR87\rPID|1||123||山田"
    with pytest.raises(RecordError, match="wrong encoding"):
        decode_message(text.encode("cp932"))
    raw = text.encode("iso2022_jp")
    with pytest.raises(RecordError, match="truncated"):
        decode_message(raw[:-4])  # drops "ESC ( B" and half of the last kanji


def test_escape_sequences_and_yen_msh2() -> None:
    msg = parse_message("MSH|^~¥&|A\rOBX|1|ST|X^Y^99L||a¥F¥b¥S¥c")
    obx = msg.first("OBX")
    assert obx is not None and obx.comp(5, 1) == "a|b^c"


def test_file_names() -> None:
    n = parse_name("9999013_20111220_OMG-11_2011122000300_20111220224447339_24_1")
    assert (n.patient_id, n.date, n.kind, n.order_no, n.department, n.flag) == (
        "9999013", "20111220", "OMG-11", "2011122000300", "24", "1")  # fmt: skip
    n = parse_name(
        "0123456789_20160101_L-OBSERVATIONS^OBSERVATIONS^99ZL01_000000020160101_201601011500321_1"
    )
    assert n.kind == "L-OBSERVATIONS^OBSERVATIONS^99ZL01" and n.department == ""
    with pytest.raises(ValueError):
        parse_name("9999013_20111220_OMG-11_1_2_24_7")


def test_resolve_flags() -> None:
    def f(name: str) -> StorageFile:
        return StorageFile(Path(name), parse_name(name))

    base = "1234567_20260101_OMP-01_000000000000001_"
    recs = resolve([f(base + "20260101100000000_01_2"), f(base + "20260101110000000_01_2"),
                    f(base + "20260101120000000_01_1")])  # fmt: skip
    assert len(recs) == 1 and not recs[0].deleted and recs[0].path.name.endswith("120000000_01_1")
    recs = resolve([f(base + "20260101100000000_01_0"), f(base + "20260101110000000_01_0")])
    assert recs[0].deleted


@pytest.mark.parametrize("form", ["url", "oid"])
def test_jp_core_essentials(form: str) -> None:
    opts = ConvertOptions(facility_code="1312345670", uri_form=form)  # type: ignore[arg-type]
    adt = convert_message((CASES / "ADT-00__nho.hl7").read_bytes(), kind="ADT-00", options=opts)
    pat = adt.resources[0]
    assert pat["meta"]["profile"] == [JP + "JP_Patient"]
    assert pat["identifier"][0]["system"] == "urn:oid:1.2.392.100495.20.3.51.11312345670"
    reps = {n["extension"][0]["valueCode"]: n for n in pat["name"]}
    assert reps["IDE"]["family"] == "患者" and reps["SYL"]["family"] == "カンジャ"
    assert all(n["extension"][0]["url"] == REP for n in pat["name"])
    lab = convert_message((CASES / "OML-11__nho.hl7").read_bytes(), kind="OML-11", options=opts)
    obs = [r for r in lab.resources if r["resourceType"] == "Observation"]
    assert obs and all(o["meta"]["profile"] == [JP + "JP_Observation_LabResult"] for o in obs)
    jlac = {
        "url": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
        "oid": "urn:oid:1.2.392.200119.4.504",
    }[form]
    assert all(o["code"]["coding"][0]["system"] == jlac for o in obs)
    assert all("specimen" in o and o["code"].get("text") for o in obs)
    assert all(o["effectiveDateTime"].endswith("+09:00") for o in obs)
    med = convert_message((CASES / "OMP-01__nho.hl7").read_bytes(), kind="OMP-01", options=opts)
    assert all(m["meta"]["profile"] == [JP + "JP_MedicationRequest"] for m in med.resources)
    assert all(len(m["identifier"]) >= 2 for m in med.resources)


def test_halfwidth_katakana_escape_decodes_and_names_become_fullwidth() -> None:
    """Some vendors send kana names as JIS X 0201 katakana (ESC ( I, "ISO IR13"). The real
    NHO ADT-00 sample with its カンジャ^タロウ rewritten that way: decoded (not quarantined),
    and the kana (SYL) name is full-width as JP Core expects; the kanji name is untouched."""
    real = (CASES / "ADT-00__nho.hl7").read_bytes()
    kana = "カンジャ^タロウ".encode("iso2022_jp")
    half = "ｶﾝｼﾞｬ^ﾀﾛｳ".encode("iso2022_jp_ext")
    assert b"\x1b(I" in half and kana in real
    data = real.replace(kana, half)
    text = decode_message(data)
    assert "ｶﾝｼﾞｬ^ﾀﾛｳ" in text
    conv = convert_message(data, kind="ADT-00", options=ConvertOptions(facility_code="1312345670"))
    patient = next(r for r in conv.resources if r["resourceType"] == "Patient")
    names = {n["extension"][0]["valueCode"]: n for n in patient["name"]}
    assert names["SYL"]["family"] == "カンジャ" and names["SYL"]["given"] == ["タロウ"]
    assert names["IDE"]["text"] == "患者 太郎"


def test_name_representation_inferred_when_xpn8_is_empty() -> None:
    """Real NHO ADT-00 with XPN-8 (I/P) removed from both names, as some vendors send them:
    the kanji name is still IDE and the kana name SYL (and kanji first)."""
    text = decode_message((CASES / "ADT-00__nho.hl7").read_bytes())
    assert "患者^太郎^^^^^L^I~カンジャ^タロウ^^^^^L^P" in text
    text = text.replace(
        "患者^太郎^^^^^L^I~カンジャ^タロウ^^^^^L^P", "カンジャ^タロウ^^^^^L~患者^太郎^^^^^L"
    )
    conv = convert_message(text, kind="ADT-00", options=ConvertOptions(facility_code="1312345670"))
    patient = next(r for r in conv.resources if r["resourceType"] == "Patient")
    reps = [(n["extension"][0]["valueCode"], n["text"]) for n in patient["name"]]
    assert reps == [("IDE", "患者 太郎"), ("SYL", "カンジャ タロウ")]


def test_adt00_insurance_cards_become_jp_coverage() -> None:
    """IN1 as JAHIS examples send it: full-width symbol/number, a card with only its kind
    (IN1-3 ``""``), and an IN1 with neither kind nor insurer (skipped with a warning)."""
    text = decode_message((CASES / "ADT-00__nho.hl7").read_bytes())
    in1 = next(s for s in text.split("\r") if s.startswith("IN1|"))
    extra = (
        "IN1|2|06^組合管掌健康保険^JHSD0001|06050116|||||||９２０４５|１０|19990514|20300331"
        '||||CHD^家族^HL70063\rIN1|3|39^後期高齢者医療^JHSD0001|""\rIN1|4'
    )
    text = text.replace(in1, in1 + "\r" + extra)
    conv = convert_message(text, kind="ADT-00", options=ConvertOptions(facility_code="1312345670"))
    covs = [r for r in conv.resources if r["resourceType"] == "Coverage"]
    assert len(covs) == 3 and len({c["id"] for c in covs}) == 3
    assert all(c["meta"]["profile"] == [JP + "JP_Coverage"] for c in covs)
    family = covs[1]
    assert family["type"]["coding"][0]["code"] == "06"
    assert [e["valueString"] for e in family["extension"]] == ["９２０４５", "１０"]
    assert [e["url"].rsplit("_", 1)[1] for e in family["extension"]] == [
        "InsuredPersonSymbol",
        "InsuredPersonNumber",
    ]
    assert family["period"] == {"start": "1999-05-14", "end": "2030-03-31"}
    assert family["relationship"]["coding"][0]["code"] == "child"
    assert family["payor"][0]["identifier"]["value"] == "06050116"
    kind_only = covs[2]
    assert kind_only["payor"] == [{"display": "後期高齢者医療"}]
    assert any(i.location == "IN1[4]-2" for i in conv.issues)
    assert "IN1" not in conv.unconsumed
    oid = convert_message(
        text, kind="ADT-00", options=ConvertOptions(facility_code="1312345670", uri_form="oid")
    )
    payor = next(r for r in oid.resources if r["resourceType"] == "Coverage")["payor"][0]
    assert payor["identifier"]["system"] == "urn:oid:1.2.392.100495.20.3.61"


def test_next_of_kin_becomes_patient_contact() -> None:
    """Real NK1 (the patient's employer, relationship SEL) plus a relative with a kana name only
    and an NK1 with nothing but a relationship (FHIR pat-1: no contact without details)."""
    text = decode_message((CASES / "ADT-00__nho.hl7").read_bytes())
    nk1 = next(s for s in text.split("\r") if s.startswith("NK1|"))
    extra = "NK1|2|カンジャ^ハナコ^^^^^L^P|SPO^配偶者^HL70063||^PRN^PH^^^^^^^^^090-0000-0000\rNK1|3||CHD^子"
    conv = convert_message(
        text.replace(nk1, nk1 + "\r" + extra),
        kind="ADT-00",
        options=ConvertOptions(facility_code="1312345670"),
    )
    patient = next(r for r in conv.resources if r["resourceType"] == "Patient")
    employer, spouse = patient["contact"]
    assert employer["organization"] == {"display": "鹿ノ門商事株式会社"}
    assert employer["name"]["text"] == "患者 太郎" and employer["relationship"][0]["text"] == "本人"
    assert spouse["relationship"][0]["coding"][0]["code"] == "SPO"
    assert spouse["name"]["extension"][0]["valueCode"] == "SYL"
    assert spouse["telecom"] == [{"system": "phone", "value": "090-0000-0000", "use": "home"}]
    assert "NK1" not in conv.unconsumed


def test_zpr_exchange_code_joins_only_its_own_diagnosis() -> None:
    text = decode_message((CASES / "PPR-01__nho.hl7").read_bytes())
    prb = next(s for s in text.split("\r") if s.startswith("PRB|"))
    other = prb.replace("20054174^胃炎^MDCDX2", "20064049^十二指腸潰瘍^MDCDX2").replace(
        "K297^^I10", "K269^^I10"
    )
    conv = convert_message(
        text.replace(prb, other + "\r" + prb),
        kind="PPR-01",
        options=ConvertOptions(facility_code="1312345670"),
    )
    codes = {
        r["code"]["coding"][0]["code"]: [c["code"] for c in r["code"]["coding"]]
        for r in conv.resources
        if r["resourceType"] == "Condition"
    }
    assert codes["20054174"] == ["20054174", "K297", "TSQF"]
    assert "TSQF" not in codes["20064049"]
    assert "ZPR" not in conv.unconsumed
