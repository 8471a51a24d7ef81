"""ADT-00 IN1 → JP_Coverage: the patient's health-insurance cards (JAMI SS-MIX2 mapping IG maps
IN1 of 患者基本情報 to Coverage).

JAHIS fields used: IN1-2 保険種別 (table JHSD0001, e.g. ``06^組合管掌健康保険``), IN1-3 保険者番号,
IN1-4 保険者名, IN1-10 被保険者証記号, IN1-11 被保険者証番号, IN1-12/13 有効開始日/終了日,
IN1-17 本人/家族 (HL7 table 0063, ``SEL`` 本人). Symbol and number are kept as sent (real cards carry
full-width digits). ADT-00 is a master record: the current file's IN1 replace the older ones.
"""

from __future__ import annotations

from typing import Any

from connectors.ssmix2.common import Ctx, fhir_date, meta
from connectors.ssmix2.hl7 import Message, Segment
from mappings.code_systems import system_uri

INSURER_NUMBER = (
    "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber"  # ≡ urn:oid:1.2.392.100495.20.3.61
)
_EXT = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPerson"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
# HL7 table 0063 (relationship) → FHIR subscriber-relationship
RELATIONSHIP = {
    "SEL": "self",
    "SPO": "spouse",
    "DOM": "common",
    "CHD": "child",
    "FCH": "child",
    "SCH": "child",
    "PAR": "parent",
    "MTH": "parent",
    "FTH": "parent",
}


def convert_coverages(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    out = []
    for i, in1 in enumerate(msg.all("IN1"), 1):
        res = _coverage(ctx, in1, i)
        if res is not None:
            out.append(res)
    return out


def _coverage(ctx: Ctx, in1: Segment, idx: int) -> dict[str, Any] | None:
    where = f"IN1[{idx}]"
    kind, kind_text, insurer = in1.comp(2), in1.comp(2, 2), in1.comp(3)
    if not kind and not insurer:
        ctx.warn(f"{where}-2", "insurance without kind (IN1-2) or insurer number (IN1-3): skipped")
        return None
    res: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": ctx.id("Coverage", ctx.patient_id, in1.comp(1) or idx, kind, insurer),
        "meta": meta("JP_Coverage"),
        "status": "active",
        "beneficiary": ctx.patient_ref,
    }
    ext = [
        {"url": _EXT + suffix, "valueString": value}
        for suffix, value in (("Symbol", in1.comp(10)), ("Number", in1.comp(11)))
        if value
    ]
    if ext:
        res["extension"] = ext
    if kind:
        coding = {"system": ctx.system("JHSD0001"), "code": kind}
        if kind_text:
            coding["display"] = kind_text
        res["type"] = {"coding": [coding]}
    rel = in1.comp(17)
    if rel:
        res["relationship"] = {
            "coding": [{"system": SUBSCRIBER_RELATIONSHIP, "code": RELATIONSHIP.get(rel, "other")}],
            "text": in1.comp(17, 2) or rel,
        }
    start, end = in1.comp(12), in1.comp(13)
    if start or end:
        period = {}
        if start:
            period["start"] = fhir_date(start, f"{where}-12")
        if end:
            period["end"] = fhir_date(end, f"{where}-13")
        res["period"] = period
    payor: dict[str, Any] = {
        "display": in1.comp(4) or (f"保険者番号 {insurer}" if insurer else kind_text)
    }
    if insurer:
        payor["identifier"] = {"system": system_uri(INSURER_NUMBER, ctx.uri_form), "value": insurer}
    res["payor"] = [payor]
    return res
