"""OUL^R22 (OML-11) / ORU^R01 / ORU^R30 (extended storage vitals) / ADT-00 OBX → Observation,
SPM → Specimen, one DiagnosticReport per order (lab and physiological test results; vital signs
have none). OMG-13 生理検査結果通知 (ORU^R01: ECG, spirometry ...) → Observations of category
``procedure`` and a DiagnosticReport coded by the test (OBR-4)."""

from __future__ import annotations

import re
from typing import Any, Literal

from connectors._sdk.errors import RecordError
from connectors.ssmix2.common import Ctx, codeable, decimal_value, fhir_datetime, meta, quantity
from connectors.ssmix2.hl7 import Message, Segment

OBS_CATEGORY_JP = "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBX_STATUS = {"F": "final", "C": "corrected", "P": "preliminary", "R": "registered",
              "I": "registered", "S": "preliminary", "A": "amended", "X": "cancelled",
              "W": "entered-in-error"}  # fmt: skip
_CMP = re.compile(r"^\s*(<=|>=|<|>)\s*(.+)$")

LAB = ("JP_Observation_LabResult", "laboratory")
VITAL = ("JP_Observation_VitalSigns", "vital-signs")
BODY = ("JP_Observation_BodyMeasurement", "exam")
PHYSIOLOGY = ("JP_Observation_Common", "procedure")
PROFILES = {"lab": LAB, "vital": VITAL, "physiology": PHYSIOLOGY}
ResultKind = Literal["lab", "vital", "physiology"]


def obx_value(ctx: Ctx, obx: Segment, loc: str) -> dict[str, Any]:
    vtype = obx.comp(2).upper()
    raw = obx.field(5)
    if not raw:
        return {}
    if vtype in ("NM", "SN"):
        text = obx.comp(5, 1) if vtype == "NM" else raw
        if vtype == "SN":
            c = obx.comps(5)
            text = "".join(x for x in (c[0] if c else "", c[1] if len(c) > 1 else "") if x)
        comparator = None
        m = _CMP.match(text)
        if m:
            comparator, text = m.group(1), m.group(2)
        num = decimal_value(text)
        if num is None:
            kept = (obx.comp(5, 1) if vtype == "NM" else " ".join(obx.comps(5))).strip()
            if not kept:
                ctx.warn(f"{loc}-5", "numeric result without a value; no value stored")
                return {}
            ctx.warn(f"{loc}-5", "non-numeric value in a numeric result; kept as text")
            return {"valueString": kept}
        q = quantity(ctx, num, obx, 6)
        if comparator:
            q = {"value": q.pop("value"), "comparator": comparator, **q}
        return {"valueQuantity": q}
    if vtype in ("CWE", "CE", "CNE", "CF"):
        cc = codeable(ctx, obx, 5)
        return {"valueCodeableConcept": cc} if cc else {}
    if vtype in ("ST", "TX", "FT", "IS", "ID"):
        text = " ".join(obx.unescape(r) for r in obx.reps(5)).strip()
        return {"valueString": text} if text else {}  # only blanks/empty repetitions: no value
    if vtype in ("DT", "TS", "DTM"):
        return {"valueDateTime": fhir_datetime(obx.comp(5), f"{loc}-5")}
    raise RecordError("unsupported OBX value type", location=f"{loc}-2")


def reference_range(ctx: Ctx, obx: Segment) -> list[dict[str, Any]]:
    rr = obx.field(7).strip()
    if not rr:
        return []
    unit_comps = obx.comps(6)
    m = re.match(r"^\s*([-+]?\d*\.?\d+)\s*[-～~]\s*([-+]?\d*\.?\d+)\s*$", rr)
    if m:
        lo, hi = decimal_value(m.group(1)), decimal_value(m.group(2))
        if lo is not None and hi is not None:
            return [{"low": quantity(ctx, lo, None, comps=unit_comps),
                     "high": quantity(ctx, hi, None, comps=unit_comps), "text": rr}]  # fmt: skip
    m = re.match(r"^\s*(<=|<|≦|＜)\s*([-+]?\d*\.?\d+)\s*$", rr)
    if m and decimal_value(m.group(2)) is not None:
        return [
            {
                "high": quantity(ctx, decimal_value(m.group(2)) or 0, None, comps=unit_comps),
                "text": rr,
            }
        ]
    m = re.match(r"^\s*(>=|>|≧|＞)\s*([-+]?\d*\.?\d+)\s*$", rr)
    if m and decimal_value(m.group(2)) is not None:
        return [
            {
                "low": quantity(ctx, decimal_value(m.group(2)) or 0, None, comps=unit_comps),
                "text": rr,
            }
        ]
    return [{"text": rr}]


def observation(ctx: Ctx, obx: Segment, idx: int, key: tuple[object, ...], profile: tuple[str, str],
                effective_fallback: str | None, specimen_ref: dict[str, str] | None) -> dict[str, Any] | None:  # fmt: skip
    loc = f"OBX[{idx}]"
    status_code = obx.comp(11).upper() or "F"
    if status_code == "D":
        return None  # result deleted by the sender: nothing to store
    code = codeable(ctx, obx, 3)
    if code is None:
        raise RecordError("observation without a code", location=f"{loc}-3")
    if "text" not in code:
        code["text"] = code["coding"][0]["code"]
    effective = fhir_datetime(obx.comp(14), f"{loc}-14") or effective_fallback
    codes = "/".join(c["code"] for c in code.get("coding", []))
    sub = obx.field(4)
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ctx.id("Observation", *key, codes, sub, effective or "", idx if not codes else ""),
        "meta": meta(profile[0]),
        "status": OBX_STATUS.get(status_code, "final"),
        "category": [{"coding": [{"system": OBS_CATEGORY_JP, "code": profile[1]}]}],
        "code": code,
        "subject": ctx.patient_ref,
    }
    if effective:
        res["effectiveDateTime"] = effective
    res.update(obx_value(ctx, obx, loc))
    flag = obx.comp(8).upper()
    if flag:
        res["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag}]}]
    rr = reference_range(ctx, obx)
    if rr:
        res["referenceRange"] = rr
    if specimen_ref:
        res["specimen"] = specimen_ref
    return res


def specimen(ctx: Ctx, spm: Segment, key: tuple[object, ...], idx: int) -> dict[str, Any]:
    sid = spm.comp(2, 1) or str(idx)
    res: dict[str, Any] = {
        "resourceType": "Specimen",
        "id": ctx.id("Specimen", *key, sid),
        "meta": meta("JP_Specimen_Common"),
        "subject": ctx.patient_ref,
    }
    if spm.comp(2, 1):
        res["identifier"] = [{"value": spm.comp(2, 1)}]
    st = codeable(ctx, spm, 4)
    if st:
        res["type"] = st
    coll = fhir_datetime(spm.comp(17, 1), f"SPM[{idx}]-17")
    if coll:
        res["collection"] = {"collectedDateTime": coll}
    return res


def convert_results(ctx: Ctx, msg: Message, kind: ResultKind = "lab") -> list[dict[str, Any]]:
    """Observation (+ Specimen, DiagnosticReport) for every OBX of a result message."""
    order = ""
    orc = msg.first("ORC")
    obr = msg.first("OBR")
    if orc is not None:
        order = orc.comp(2, 1)
    if not order and obr is not None:
        order = obr.comp(2, 1) or obr.comp(3, 1)
    key: tuple[object, ...] = (ctx.patient_id, ctx.kind or msg.message_type, order)
    out: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    specimens: list[dict[str, Any]] = []
    spec_ref: dict[str, str] | None = None
    spm_time: str | None = None
    obr_time: str | None = None
    profile = PROFILES[kind]
    test: dict[str, Any] | None = None  # the physiological test (first OBR-4)
    n_obx = n_spm = 0
    for seg in msg.segments:
        name = seg.name
        if name == "SPM":
            n_spm += 1
            sp = specimen(ctx, seg, key, n_spm)
            specimens.append(sp)
            spec_ref = {"reference": f"Specimen/{sp['id']}"}
            spm_time = sp.get("collection", {}).get("collectedDateTime")
        elif name == "OBR":
            obr_time = fhir_datetime(seg.comp(7, 1), "OBR-7")
            if test is None and kind == "physiology":
                test = codeable(ctx, seg, 4)
        elif name == "OBX":
            n_obx += 1
            o = observation(ctx, seg, n_obx, key, profile, spm_time or obr_time, spec_ref)
            if o is not None:
                observations.append(o)
    out.extend(specimens)
    out.extend(observations)
    if observations and kind != "vital":
        out.append(_report(ctx, key, order, observations, specimens, test if kind == "physiology"
                           else None))  # fmt: skip
    return out


def _report(
    ctx: Ctx,
    key: tuple[object, ...],
    order: str,
    observations: list[dict[str, Any]],
    specimens: list[dict[str, Any]],
    test: dict[str, Any] | None,
) -> dict[str, Any]:
    """The DiagnosticReport of one result message: a lab report, or (``test`` given) the report
    of that physiological test."""
    effective = next(
        (o.get("effectiveDateTime") for o in observations if o.get("effectiveDateTime")), None
    )
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": ctx.id("DiagnosticReport", *key),
        "meta": meta(
            "JP_DiagnosticReport_LabResult" if test is None else "JP_DiagnosticReport_Common"
        ),  # fmt: skip
        "status": "final",
    }
    if test is None:
        report["category"] = [{"coding": [{"system": "http://loinc.org", "code": "LP29693-6",
                                           "display": "Laboratory"}]}]  # fmt: skip
        report["code"] = {"coding": [{"system": "http://loinc.org", "code": "11502-2",
                                      "display": "Laboratory report"}]}  # fmt: skip
    else:
        report["code"] = test
    report["subject"] = ctx.patient_ref
    report["result"] = [{"reference": f"Observation/{o['id']}"} for o in observations]
    if effective:
        report["effectiveDateTime"] = effective
    if specimens:
        report["specimen"] = [{"reference": f"Specimen/{s['id']}"} for s in specimens]
    if order:
        report["identifier"] = [{"system": "urn:ehr-bridge:ssmix2:order-no", "value": order}]
    return report


def body_observations(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    """OBX of ADT-00 (height, weight, blood type): body measurements at OBX-14 or EVN-2."""
    evn = msg.first("EVN")
    fallback = fhir_datetime(evn.comp(2), "EVN-2") if evn is not None else None
    out = []
    for i, obx in enumerate(msg.all("OBX"), 1):
        o = observation(ctx, obx, i, (ctx.patient_id, "ADT-00"), BODY, fallback, None)
        if o is not None:
            out.append(o)
    return out
